/**
 * Ballot receipts and the Merkle tree the published result commits to, with no I/O: an owner keeps the
 * receipt their ballot returned, fetches an inclusion proof once the meeting closes, and checks it
 * offline against the published root (`npm run verify-receipt -- <receipt> <proof> <root>`).
 *
 * A receipt is a SHA-256 over the canonical ballot and a 256-bit secret nonce, so it shows that a
 * ballot was counted without showing how anyone voted. The tree is RFC 6962's (Certificate
 * Transparency) over the sorted, de-duplicated receipts, so anyone holding the same set of receipts
 * computes the same root; proofs are RFC 9162 §2.1.3 inclusion proofs.
 */
import * as crypto from 'node:crypto';

const RECEIPT_DOMAIN = 'civic-cell/ballot/v1\n';
const HEX_64 = /^[0-9a-f]{64}$/;
const HEX_64_ANY_CASE = /^[0-9a-fA-F]{64}$/;
const MAX_PATH = 64;
const PROOF_SHAPE =
  /^(0|[1-9][0-9]{0,15})\/([1-9][0-9]{0,15})(?::([0-9a-fA-F]{64}(?:\.[0-9a-fA-F]{64}){0,63}))?$/;
const MAX_PROOF_LENGTH = 16 + 1 + 16 + 1 + MAX_PATH * 65;

/** A fresh secret for one ballot: 32 random bytes as lower-case hex, so receipts cannot be guessed. */
export function newNonce(): string {
  return crypto.randomBytes(32).toString('hex');
}

const isPlainObject = (value: object): boolean => {
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
};

/**
 * JSON with object keys sorted recursively (UTF-16 code unit order, as RFC 8785) and no whitespace, so
 * the same ballot always hashes the same whatever order its fields were built in. Undefined object
 * members are omitted; anything JSON would drop or mangle silently is refused with a TypeError instead
 * (undefined in an array, functions, symbols, bigint, non-finite numbers, cycles, and objects other than
 * plain objects and arrays, e.g. Date or Map — convert them to strings or numbers first).
 */
export function canonicalJson(value: unknown): string {
  const ancestors = new Set<object>();
  const encode = (item: unknown, where: string): string => {
    switch (typeof item) {
      case 'string':
      case 'boolean':
        return JSON.stringify(item);
      case 'number':
        if (!Number.isFinite(item)) throw new TypeError(`canonicalJson: ${where} is not a finite number`);
        return JSON.stringify(item);
      case 'object': {
        if (item === null) return 'null';
        if (ancestors.has(item)) throw new TypeError(`canonicalJson: ${where} is a cycle`);
        ancestors.add(item);
        let text: string;
        if (Array.isArray(item)) {
          const parts: string[] = [];
          for (let k = 0; k < item.length; k++) {
            if (item[k] === undefined) throw new TypeError(`canonicalJson: ${where}[${k}] is undefined`);
            parts.push(encode(item[k], `${where}[${k}]`));
          }
          text = `[${parts.join(',')}]`;
        } else if (isPlainObject(item)) {
          const record = item as Record<string, unknown>;
          const parts: string[] = [];
          for (const key of Object.keys(record).sort()) {
            if (record[key] === undefined) continue;
            parts.push(`${JSON.stringify(key)}:${encode(record[key], `${where}.${key}`)}`);
          }
          text = `{${parts.join(',')}}`;
        } else {
          throw new TypeError(`canonicalJson: ${where} is not a plain object or array`);
        }
        ancestors.delete(item);
        return text;
      }
      default:
        throw new TypeError(`canonicalJson: ${where} is ${typeof item}, which has no canonical JSON`);
    }
  };
  return encode(value, '$');
}

/**
 * The receipt a cast ballot returns: lower-case hex SHA-256 of
 * `"civic-cell/ballot/v1\n" + canonicalJson(ballot) + "\n" + nonce`. The nonce (64 lower-case hex
 * characters, see newNonce) keeps equal ballots from having equal receipts, so a receipt reveals nothing
 * about the vote. Throws a TypeError for a malformed nonce or a ballot canonicalJson refuses.
 */
export function receiptOf(ballot: Readonly<Record<string, unknown>>, nonce: string): string {
  if (typeof nonce !== 'string' || !HEX_64.test(nonce))
    throw new TypeError('receiptOf: the nonce must be 64 lower-case hex characters');
  if (typeof ballot !== 'object' || ballot === null || Array.isArray(ballot))
    throw new TypeError('receiptOf: the ballot must be an object');
  return crypto
    .createHash('sha256')
    .update(`${RECEIPT_DOMAIN}${canonicalJson(ballot)}\n${nonce}`, 'utf8')
    .digest('hex');
}

/** Whether a value has a receipt's (or a root's) shape: 64 hex characters, either case. */
export function isReceipt(value: unknown): value is string {
  return typeof value === 'string' && HEX_64_ANY_CASE.test(value);
}

// crypto.hash (Node ≥ 20.12) is twice as fast as createHash for many small inputs.
const sha256: (data: Buffer) => Buffer =
  typeof crypto.hash === 'function'
    ? (data) => crypto.hash('sha256', data, 'buffer')
    : (data) => crypto.createHash('sha256').update(data).digest();
const scratch = Buffer.alloc(65);
/** RFC 6962 leaf hash, SHA-256(0x00 ‖ 32 leaf bytes), of a leaf already checked to be 64 hex. */
const leafHash = (hex: string): Buffer => {
  scratch[0] = 0x00;
  scratch.write(hex, 1, 32, 'hex');
  return sha256(scratch.subarray(0, 33));
};
/** RFC 6962 interior node, SHA-256(0x01 ‖ left ‖ right). */
const nodeHash = (left: Buffer, right: Buffer): Buffer => {
  scratch[0] = 0x01;
  left.copy(scratch, 1);
  right.copy(scratch, 33);
  return sha256(scratch);
};
const EMPTY_ROOT = crypto.createHash('sha256').digest('hex');

/** The leaves a tree is built over: lower-cased, sorted and de-duplicated; a non-receipt is refused. */
const normalizedLeaves = (leaves: readonly string[]): string[] => {
  const lower = leaves.map((leaf, k) => {
    if (!isReceipt(leaf)) throw new TypeError(`merkle: leaf ${k} is not 64 hex characters`);
    return leaf.toLowerCase();
  });
  lower.sort();
  const unique: string[] = [];
  for (const leaf of lower) if (unique[unique.length - 1] !== leaf) unique.push(leaf);
  return unique;
};

/**
 * An RFC 9162 inclusion proof: the leaf's index in the sorted, de-duplicated leaves, the tree's size,
 * and the audit path of sibling hashes (lower-case hex) from the leaf up.
 */
export interface InclusionProof {
  readonly index: number;
  readonly size: number;
  readonly path: readonly string[];
}

/**
 * A proof as one copy-pasteable token: `<index>/<size>` then, when the path is not empty,
 * `:<hash>.<hash>…` bottom-up, e.g. `2/5:ab…01.cd…02.ef…03`; a one-leaf tree's proof is `0/1`.
 */
export function formatProof(proof: InclusionProof): string {
  const head = `${proof.index}/${proof.size}`;
  return proof.path.length === 0 ? head : `${head}:${proof.path.join('.')}`;
}

/** Reads formatProof's token back (hex in either case); undefined for anything malformed. */
export function parseProof(text: unknown): InclusionProof | undefined {
  if (typeof text !== 'string' || text.length > MAX_PROOF_LENGTH) return undefined;
  const match = PROOF_SHAPE.exec(text);
  if (!match) return undefined;
  const index = Number(match[1]);
  const size = Number(match[2]);
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index >= size) return undefined;
  const path = match[3] === undefined ? [] : match[3].toLowerCase().split('.');
  return { index, size, path };
}

/** A tree built once over a set of receipts, answering many proofs (a published result's tree). */
export interface MerkleTree {
  /** RFC 6962 MTH over the sorted, de-duplicated leaves, lower-case hex. */
  readonly root: string;
  /** How many distinct leaves the tree holds. */
  readonly size: number;
  /** The formatted proof (see formatProof) for a receipt, or undefined when it is not in the tree. */
  proofOf(leaf: string): string | undefined;
}

/**
 * Builds the tree bottom-up, level by level (linear work, no recursion): pairing adjacent nodes and
 * carrying an odd last node up unchanged gives exactly RFC 6962 §2.1's split at the largest power of two
 * below n. Leaves are receipts (64 hex characters, either case; anything else is a TypeError).
 */
export function merkleTree(leaves: readonly string[]): MerkleTree {
  const sorted = normalizedLeaves(leaves);
  const levels: Buffer[][] = [sorted.map(leafHash)];
  for (let level = levels[0]!; level.length > 1; ) {
    const next: Buffer[] = new Array(Math.ceil(level.length / 2));
    for (let k = 0; k + 1 < level.length; k += 2) next[k / 2] = nodeHash(level[k]!, level[k + 1]!);
    if (level.length % 2 === 1) next[next.length - 1] = level[level.length - 1]!;
    levels.push(next);
    level = next;
  }
  const top = levels[levels.length - 1]!;
  const root = top.length === 0 ? EMPTY_ROOT : top[0]!.toString('hex');

  const indexOf = (leaf: string): number => {
    let low = 0;
    let high = sorted.length - 1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      const candidate = sorted[middle]!;
      if (candidate === leaf) return middle;
      if (candidate < leaf) low = middle + 1;
      else high = middle - 1;
    }
    return -1;
  };

  return {
    root,
    size: sorted.length,
    proofOf(leaf) {
      if (!isReceipt(leaf)) return undefined;
      const index = indexOf(leaf.toLowerCase());
      if (index < 0) return undefined;
      const path: string[] = [];
      let position = index;
      for (const level of levels.slice(0, -1)) {
        const sibling = position ^ 1;
        if (sibling < level.length) path.push(level[sibling]!.toString('hex'));
        position >>>= 1;
      }
      return formatProof({ index, size: sorted.length, path });
    },
  };
}

/**
 * The root a published result carries: RFC 6962 MTH over the sorted, de-duplicated receipts (so the
 * same set gives the same root in any order); SHA-256 of the empty string for no receipts.
 */
export function merkleRoot(leaves: readonly string[]): string {
  return merkleTree(leaves).root;
}

/**
 * One receipt's inclusion proof (see formatProof), or undefined when the receipt is not among the
 * leaves. Builds the whole tree; to answer many proofs over one tree, build it once with merkleTree.
 */
export function inclusionProof(leaves: readonly string[], leaf: string): string | undefined {
  return merkleTree(leaves).proofOf(leaf);
}

/**
 * Whether the proof shows the receipt is a leaf of the tree with this root, following RFC 9162
 * §2.1.3.2; hex is accepted in either case, and malformed input of any kind is false, never a throw.
 * The proof's index and size only shape the path: a proof that verifies proves inclusion, not the
 * tree's size, which the published result states on its own.
 */
export function verifyInclusion(receipt: string, proof: string, root: string): boolean {
  if (!isReceipt(receipt) || !isReceipt(root)) return false;
  const parsed = parseProof(proof);
  if (!parsed) return false;
  let fn = parsed.index;
  let sn = parsed.size - 1;
  let hash = leafHash(receipt);
  for (const sibling of parsed.path) {
    if (sn === 0) return false;
    const p = Buffer.from(sibling, 'hex');
    if (fn % 2 === 1 || fn === sn) {
      hash = nodeHash(p, hash);
      while (fn % 2 === 0 && fn !== 0) {
        fn /= 2;
        sn = Math.floor(sn / 2);
      }
    } else {
      hash = nodeHash(hash, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && hash.equals(Buffer.from(root, 'hex'));
}
