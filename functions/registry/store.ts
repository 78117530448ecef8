import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { Entity, GetItemCommand, item, number, PutItemCommand, string } from 'dynamodb-toolbox';
import { ConflictError } from '../shared/errors.js';
import { CivicTable } from '../shared/table.js';
import type { CreateCompound } from './domain.js';

export const CompoundEntity = new Entity({
  name: 'Compound',
  table: CivicTable,
  schema: item({
    compoundId: string().key(),
    subDistrictId: string(),
    name: string(),
    address: string().optional(),
    version: number(),
  }),
  computeKey: ({ compoundId }) => ({ pk: `COMPOUND#${compoundId}`, sk: 'COMPOUND' }),
});

export const createCompound = async (subDistrictId: string, input: CreateCompound) => {
  const compound = { ...input, subDistrictId, version: 1 };
  try {
    await CompoundEntity.build(PutItemCommand)
      .item(compound)
      .options({ condition: { attr: 'compoundId', exists: false } })
      .send();
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) {
      throw new ConflictError(`Compound ${input.compoundId} already exists.`);
    }
    throw error;
  }
  return compound;
};

export const getCompound = async (compoundId: string) => {
  const { Item } = await CompoundEntity.build(GetItemCommand).key({ compoundId }).send();
  return Item;
};
