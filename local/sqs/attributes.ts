import { createHash } from 'node:crypto';
import { invalidParameter, SqsError } from './errors.js';

/** A message attribute as SendMessage carries it (`BinaryValue` as bytes; list values are reserved by AWS). */
export interface MessageAttributeValue {
  DataType: string;
  StringValue?: string;
  BinaryValue?: Uint8Array;
}

export type MessageAttributes = Record<string, MessageAttributeValue>;

const MAX_ATTRIBUTES = 10;
const NAME = /^[A-Za-z0-9_.-]{1,256}$/;
const DATA_TYPE = /^(String|Number|Binary)(\..+)?$/;
const NUMBER = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;
/** The characters SQS accepts in a body or a string value (XML 1.0's Char production). */
const INVALID_CHARACTER = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

export const md5Hex = (data: string | Uint8Array): string => createHash('md5').update(data).digest('hex');

/** Throws InvalidMessageContents for characters SQS refuses (control characters, lone surrogates …). */
export const checkCharacters = (text: string, what: string): void => {
  const bad = INVALID_CHARACTER.exec(text)?.[0];
  if (bad === undefined) return;
  throw new SqsError(
    'InvalidMessageContents',
    `Invalid binary character '#x${(bad.codePointAt(0) ?? 0).toString(16).toUpperCase()}' was found in the ${what}, the set of allowed characters is #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF`,
  );
};

/** Validates user message attributes as SendMessage does; `kind` names them in errors. */
export const checkMessageAttributes = (attributes: MessageAttributes, kind = 'user'): void => {
  const names = Object.keys(attributes);
  if (names.length > MAX_ATTRIBUTES) {
    throw invalidParameter(
      `Number of message attributes [${names.length}] exceeds the allowed maximum [10].`,
    );
  }
  for (const name of names) {
    const value = attributes[name] as MessageAttributeValue;
    if (
      !NAME.test(name) ||
      /^(aws\.|amazon\.)/i.test(name) ||
      name.startsWith('.') ||
      name.endsWith('.') ||
      name.includes('..')
    ) {
      throw invalidParameter(`Message (${kind}) attribute name '${name}' is invalid.`);
    }
    if (value.DataType.length > 256 || !DATA_TYPE.test(value.DataType)) {
      throw invalidParameter(
        `The type of message (${kind}) attribute '${name}' is invalid. You must use only the following supported type prefixes: Binary, Number, String.`,
      );
    }
    if (value.DataType.startsWith('Binary')) {
      if (
        value.BinaryValue === undefined ||
        value.BinaryValue.length === 0 ||
        value.StringValue !== undefined
      ) {
        throw invalidParameter(
          `Message (${kind}) attribute '${name}' must contain a non-empty value of message attribute type '${value.DataType}'.`,
        );
      }
    } else {
      if (value.StringValue === undefined || value.StringValue === '' || value.BinaryValue !== undefined) {
        throw invalidParameter(
          `Message (${kind}) attribute '${name}' must contain a non-empty value of message attribute type '${value.DataType}'.`,
        );
      }
      checkCharacters(value.StringValue, `message attribute '${name}'`);
      if (value.DataType.startsWith('Number') && !NUMBER.test(value.StringValue)) {
        throw invalidParameter(`Can't cast the value of message (${kind}) attribute '${name}' to a number.`);
      }
    }
  }
};

/** Bytes the attributes add to a message's size: names, data types and values. */
export const attributesSize = (attributes: MessageAttributes): number =>
  Object.entries(attributes).reduce(
    (total, [name, value]) =>
      total +
      Buffer.byteLength(name) +
      Buffer.byteLength(value.DataType) +
      (value.BinaryValue?.length ?? Buffer.byteLength(value.StringValue ?? '')),
    0,
  );

const lengthPrefixed = (bytes: Uint8Array): Buffer => {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return Buffer.concat([length, bytes]);
};

/**
 * MD5OfMessageAttributes as AWS computes it: attributes sorted by name, each encoded as length-prefixed
 * name and data type, a transport byte (1 string/number, 2 binary) and the length-prefixed value.
 * Undefined for no attributes (AWS then omits the field).
 */
export const md5OfAttributes = (attributes: MessageAttributes): string | undefined => {
  const names = Object.keys(attributes).sort();
  if (names.length === 0) return undefined;
  const parts = names.flatMap((name) => {
    const value = attributes[name] as MessageAttributeValue;
    const binary = value.BinaryValue !== undefined;
    return [
      lengthPrefixed(Buffer.from(name)),
      lengthPrefixed(Buffer.from(value.DataType)),
      Buffer.from([binary ? 2 : 1]),
      lengthPrefixed(binary ? (value.BinaryValue as Uint8Array) : Buffer.from(value.StringValue ?? '')),
    ];
  });
  return md5Hex(Buffer.concat(parts));
};
