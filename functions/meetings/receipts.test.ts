import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  canonicalJson,
  inclusionProof,
  merkleRoot,
  merkleTree,
  newNonce,
  parseProof,
  receiptOf,
  verifyInclusion,
} from './receipts.js';

const sha256 = (...parts: Buffer[]): Buffer => createHash('sha256').update(Buffer.concat(parts)).digest();
const bytes = (hex: string): Buffer => Buffer.from(hex, 'hex');

/** RFC 6962 §2.1 MTH, written straight from the definition, over leaves already sorted and unique. */
const naiveMth = (leaves: readonly string[]): Buffer => {
  if (leaves.length === 0) return sha256();
  if (leaves.length === 1) return sha256(Buffer.from([0]), bytes(leaves[0]!));
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return sha256(Buffer.from([1]), naiveMth(leaves.slice(0, k)), naiveMth(leaves.slice(k)));
};
const sortedUnique = (leaves: readonly string[]): string[] => [...new Set(leaves)].sort();

const hex32 = fc
  .uint8Array({ minLength: 32, maxLength: 32 })
  .map((array) => Buffer.from(array).toString('hex'));
/** 1..300 distinct-ish leaves, then some of them again: the input a tree is built from. */
const leafInput = fc
  .tuple(fc.array(hex32, { minLength: 1, maxLength: 300 }), fc.array(fc.nat(), { maxLength: 30 }))
  .map(([leaves, picks]) => [...leaves, ...picks.map((pick) => leaves[pick % leaves.length]!)]);

/** The same hex with the character at `at` replaced by a different hex digit. */
const flipHex = (hex: string, at: number): string => {
  const digit = (Number.parseInt(hex[at]!, 16) + 1) % 16;
  return `${hex.slice(0, at)}${digit.toString(16)}${hex.slice(at + 1)}`;
};

const ballot = { meetingId: 'agm-2025', matters: [{ matterId: 'm1', choice: 'for' }], voterId: 'v-17' };
const nonce = 'a'.repeat(64);

describe('receipts: a hash over the canonical ballot and a secret nonce', () => {
  it('is deterministic, lower-case hex, and the documented hash', () => {
    // Arrange
    const expected = createHash('sha256')
      .update(`civic-cell/ballot/v1\n${canonicalJson(ballot)}\n${nonce}`, 'utf8')
      .digest('hex');

    // Act
    const first = receiptOf(ballot, nonce);
    const second = receiptOf(structuredClone(ballot), nonce);

    // Assert
    expect(first).toBe(expected);
    expect(second).toBe(first);
    expect(first).toMatch(/^[0-9a-f]{64}$/);
  });

  it.each([
    ['the meeting', { ...ballot, meetingId: 'agm-2026' }],
    ['the voter', { ...ballot, voterId: 'v-18' }],
    ['a choice', { ...ballot, matters: [{ matterId: 'm1', choice: 'against' }] }],
    ['a matter', { ...ballot, matters: [{ matterId: 'm2', choice: 'for' }] }],
    ['an added field', { ...ballot, channel: 'paper' }],
    ['a removed field', { meetingId: ballot.meetingId, matters: ballot.matters }],
  ])('changes when %s changes', (_what, changed) => {
    // Act
    const receipt = receiptOf(changed, nonce);

    // Assert
    expect(receipt).not.toBe(receiptOf(ballot, nonce));
  });

  it('changes when any character of the nonce changes', () => {
    fc.assert(
      fc.property(hex32, fc.nat({ max: 63 }), (secret, at) => {
        expect(receiptOf(ballot, flipHex(secret, at))).not.toBe(receiptOf(ballot, secret));
      }),
    );
  });

  it('does not depend on the order of keys, at any depth', () => {
    // Arrange
    const reordered = {
      voterId: 'v-17',
      matters: [{ choice: 'for', matterId: 'm1' }],
      meetingId: 'agm-2025',
    };

    // Act
    const receipt = receiptOf(reordered, nonce);

    // Assert
    expect(receipt).toBe(receiptOf(ballot, nonce));
  });

  it('gives equal ballots with fresh nonces different receipts', () => {
    // Act
    const [a, b] = [newNonce(), newNonce()];

    // Assert
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(a).not.toBe(b);
    expect(receiptOf(ballot, a)).not.toBe(receiptOf(ballot, b));
  });

  it.each([
    ['empty', ''],
    ['too short', 'a'.repeat(63)],
    ['too long', 'a'.repeat(65)],
    ['upper-case', 'A'.repeat(64)],
    ['not hex', 'g'.repeat(64)],
    ['padded', ` ${'a'.repeat(63)}`],
  ])('refuses a nonce that is %s', (_what, bad) => {
    expect(() => receiptOf(ballot, bad)).toThrow(TypeError);
  });
});

describe('canonicalJson', () => {
  it.each([
    [{ b: 1, a: [3, { d: null, c: 'x' }] }, '{"a":[3,{"c":"x","d":null}],"b":1}'],
    [{ a: undefined, b: true }, '{"b":true}'],
    [[], '[]'],
    [{}, '{}'],
    [{ é: 1, z: 2, A: 3 }, '{"A":3,"z":2,"é":1}'],
    [{ n: -0, m: 1e21, s: 'line\n"q"' }, '{"m":1e+21,"n":0,"s":"line\\n\\"q\\""}'],
  ])('encodes %j as %s', (value, expected) => {
    expect(canonicalJson(value)).toBe(expected);
  });

  it('agrees with JSON.parse on any JSON value', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(JSON.parse(canonicalJson(value))).toEqual(JSON.parse(JSON.stringify(value)));
      }),
    );
  });

  const cycle: Record<string, unknown> = {};
  cycle.self = cycle;
  it.each([
    ['undefined in an array', { a: [1, undefined] }],
    ['a function', { f: () => 1 }],
    ['a bigint', { n: 1n }],
    ['a symbol', { s: Symbol('s') }],
    ['NaN', { n: Number.NaN }],
    ['Infinity', { n: [Number.POSITIVE_INFINITY] }],
    ['a Date', { at: new Date(0) }],
    ['a Map', { m: new Map() }],
    ['a cycle', cycle],
    ['undefined itself', undefined],
  ])('refuses %s', (_what, value) => {
    expect(() => canonicalJson(value)).toThrow(TypeError);
  });
});

describe('Merkle tree: RFC 6962 over the sorted, de-duplicated receipts', () => {
  it('has the SHA-256 of nothing as the root of no leaves', () => {
    // Arrange
    const expected = createHash('sha256').update(Buffer.alloc(0)).digest('hex');

    // Act
    const root = merkleRoot([]);

    // Assert
    expect(root).toBe(expected);
    expect(root).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(inclusionProof([], 'a'.repeat(64))).toBeUndefined();
  });

  it('has the leaf hash SHA-256(0x00 ‖ leaf) as the root of one leaf, with proof 0/1', () => {
    // Arrange
    const leaf = receiptOf(ballot, nonce);
    const expected = createHash('sha256')
      .update(Buffer.concat([Buffer.from([0x00]), Buffer.from(leaf, 'hex')]))
      .digest('hex');

    // Act
    const root = merkleRoot([leaf]);
    const proof = inclusionProof([leaf], leaf);

    // Assert
    expect(root).toBe(expected);
    expect(proof).toBe('0/1');
    expect(verifyInclusion(leaf, '0/1', root)).toBe(true);
  });

  it('has SHA-256(0x01 ‖ left ‖ right) over the sorted leaves as the root of two', () => {
    // Arrange
    const [low, high] = ['0'.repeat(64), 'f'.repeat(64)];
    const leafHash = (hex: string) => sha256(Buffer.from([0]), bytes(hex));
    const expected = sha256(Buffer.from([1]), leafHash(low), leafHash(high)).toString('hex');

    // Act
    const root = merkleRoot([high, low]);

    // Assert
    expect(root).toBe(expected);
    expect(inclusionProof([high, low], high)).toBe(`1/2:${leafHash(low).toString('hex')}`);
  });

  it('equals a naive recursive MTH, whatever the order and repetition of the input', () => {
    fc.assert(
      fc.property(
        leafInput.chain((leaves) =>
          fc.tuple(
            fc.constant(leaves),
            fc.shuffledSubarray(leaves, { minLength: leaves.length, maxLength: leaves.length }),
          ),
        ),
        ([leaves, shuffled]) => {
          // Act
          const root = merkleRoot(leaves);

          // Assert
          expect(root).toBe(naiveMth(sortedUnique(leaves)).toString('hex'));
          expect(merkleRoot(shuffled)).toBe(root);
          expect(merkleRoot(leaves.map((leaf) => leaf.toUpperCase()))).toBe(root);
          expect(merkleTree(leaves).size).toBe(sortedUnique(leaves).length);
        },
      ),
    );
  });

  it("verifies every leaf's proof against the root, and not another leaf's", () => {
    fc.assert(
      fc.property(leafInput, (leaves) => {
        // Arrange
        const tree = merkleTree(leaves);
        const unique = sortedUnique(leaves);

        // Act
        const proofs = unique.map((leaf) => tree.proofOf(leaf)!);

        // Assert
        unique.forEach((leaf, k) => {
          expect(verifyInclusion(leaf, proofs[k]!, tree.root)).toBe(true);
          expect(proofs[k]).toBe(inclusionProof(leaves, leaf));
          const other = unique[(k + 1) % unique.length]!;
          if (other !== leaf) expect(verifyInclusion(other, proofs[k]!, tree.root)).toBe(false);
        });
      }),
    );
  });

  it('fails once any one hex character of the receipt, the root or a proof hash changes', () => {
    fc.assert(
      fc.property(leafInput, fc.nat(), (leaves, pick) => {
        // Arrange
        const unique = sortedUnique(leaves);
        const leaf = unique[pick % unique.length]!;
        const tree = merkleTree(leaves);
        const proof = tree.proofOf(leaf)!;
        const [head, hashes = ''] = proof.split(':');

        // Act & Assert
        for (let at = 0; at < 64; at++) {
          expect(verifyInclusion(flipHex(leaf, at), proof, tree.root)).toBe(false);
          expect(verifyInclusion(leaf, proof, flipHex(tree.root, at))).toBe(false);
        }
        for (let at = 0; at < hashes.length; at++) {
          if (hashes[at] === '.') continue;
          expect(verifyInclusion(leaf, `${head}:${flipHex(hashes, at)}`, tree.root)).toBe(false);
        }
      }),
    );
  });

  it('accepts hex in either case when verifying', () => {
    // Arrange
    const leaves = Array.from({ length: 7 }, (_, k) => receiptOf({ k }, nonce));
    const tree = merkleTree(leaves);
    const proof = tree.proofOf(leaves[3]!)!;

    // Act
    const valid = verifyInclusion(leaves[3]!.toUpperCase(), proof.toUpperCase(), tree.root.toUpperCase());

    // Assert
    expect(valid).toBe(true);
    expect(tree.proofOf(leaves[3]!.toUpperCase())).toBe(proof);
  });

  it('answers no proof for a receipt outside the set or a malformed one', () => {
    // Arrange
    const leaves = ['1'.repeat(64), '2'.repeat(64), '3'.repeat(64)];

    // Act
    const tree = merkleTree(leaves);

    // Assert
    expect(tree.proofOf('4'.repeat(64))).toBeUndefined();
    expect(tree.proofOf('not a receipt')).toBeUndefined();
    expect(inclusionProof(leaves, '0'.repeat(64))).toBeUndefined();
  });

  it('refuses a leaf that is not a receipt', () => {
    expect(() => merkleRoot(['1'.repeat(64), 'xyz'])).toThrow(TypeError);
  });

  const leaves5 = Array.from({ length: 5 }, (_, k) => receiptOf({ k }, nonce));
  const tree5 = merkleTree(leaves5);
  const leaf5 = sortedUnique(leaves5)[2]!;
  const proof5 = tree5.proofOf(leaf5)!;
  it.each([
    ['an empty proof', leaf5, '', tree5.root],
    ['a proof without a size', leaf5, proof5.replace('/5', ''), tree5.root],
    ['an index past the size', leaf5, proof5.replace('2/5', '5/5'), tree5.root],
    ['a size of zero', leaf5, '0/0', tree5.root],
    ['a leading zero', leaf5, proof5.replace('2/5', '02/5'), tree5.root],
    ['a hash too few', leaf5, proof5.slice(0, proof5.lastIndexOf('.')), tree5.root],
    ['a hash too many', leaf5, `${proof5}.${'0'.repeat(64)}`, tree5.root],
    ['a short hash', leaf5, proof5.slice(0, -1), tree5.root],
    ['a trailing separator', leaf5, `${proof5}.`, tree5.root],
    ['a huge index', leaf5, `99999999999999999/99999999999999999:${'0'.repeat(64)}`, tree5.root],
    ['a very long proof', leaf5, `${proof5}${`.${'0'.repeat(64)}`.repeat(10_000)}`, tree5.root],
    ['a short receipt', leaf5.slice(1), proof5, tree5.root],
    ['a non-hex root', leaf5, proof5, `z${tree5.root.slice(1)}`],
    ['non-strings', 42 as unknown as string, null as unknown as string, {} as unknown as string],
  ])('is false, never a throw, for %s', (_what, receipt, proof, root) => {
    // Act
    const valid = verifyInclusion(receipt, proof, root);

    // Assert
    expect(valid).toBe(false);
    expect(verifyInclusion(leaf5, proof5, tree5.root)).toBe(true);
  });

  it('reads a proof back as index, size and path', () => {
    expect(parseProof(proof5)).toEqual({ index: 2, size: 5, path: proof5.split(':')[1]!.split('.') });
    expect(parseProof('0/1')).toEqual({ index: 0, size: 1, path: [] });
  });
});

describe('verify-receipt: the offline command', () => {
  const projectRoot = path.resolve(import.meta.dirname, '../..');
  const cli = (...args: string[]) => {
    const child = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'functions/meetings/verify-receipt.ts', ...args],
      {
        cwd: projectRoot,
        encoding: 'utf8',
      },
    );
    return { code: child.status, out: child.stdout, err: child.stderr };
  };
  const leaves = Array.from({ length: 6 }, (_, k) => receiptOf({ k }, nonce));
  const tree = merkleTree(leaves);
  const receipt = leaves[4]!;
  const proof = tree.proofOf(receipt)!;

  it('exits 0 and says so for an included receipt', () => {
    // Act
    const { code, out } = cli(receipt, proof, tree.root);

    // Assert
    expect(code).toBe(0);
    expect(out).toContain(`valid: receipt ${receipt.slice(0, 16)}`);
    expect(out).toContain(`is included under root ${tree.root.slice(0, 16)}`);
  });

  it('exits 1 with NOT included for a tampered root', () => {
    // Act
    const { code, err } = cli(receipt, proof, flipHex(tree.root, 10));

    // Assert
    expect(code).toBe(1);
    expect(err).toContain('NOT included');
  });

  it.each([
    ['receipt', ['abc', proof, tree.root]],
    ['proof', [receipt, 'nonsense', tree.root]],
    ['root', [receipt, proof, `${tree.root}00`]],
  ])('exits 1 naming a malformed %s', (which, args) => {
    // Act
    const { code, err } = cli(...args);

    // Assert
    expect(code).toBe(1);
    expect(err).toContain(`malformed ${which}`);
    expect(err).not.toContain('    at ');
  });

  it.each([[['--help']], [[]], [[receipt, proof]]])('exits 2 with the usage for %j', (args) => {
    // Act
    const { code, out, err } = cli(...args);

    // Assert
    expect(code).toBe(2);
    expect(`${out}${err}`).toContain('usage: npm run verify-receipt -- <receipt> <proof> <root>');
  });
});
