import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';

/** Sends a conditional write; false if its condition failed (the item exists, or moved on). */
export const conditionally = async (write: () => Promise<unknown>): Promise<boolean> => {
  try {
    await write();
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false;
    throw error;
  }
};
