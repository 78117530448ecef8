/**
 * Checks a ballot receipt against a published result offline, needing nothing but this repository:
 * `npm run verify-receipt -- <receipt> <proof> <root>`. Exit 0: the receipt is included; 1: it is not,
 * or an argument is malformed; 2: usage.
 */
import { isReceipt, parseProof, verifyInclusion } from './receipts.js';

const USAGE = `usage: npm run verify-receipt -- <receipt> <proof> <root>

  receipt  the 64-hex receipt your ballot returned
  proof    the inclusion proof fetched for it, e.g. 2/5:<hash>.<hash>.<hash> (0/1 for a one-ballot tree)
  root     the 64-hex Merkle root the meeting's published result carries

Exits 0 when the receipt is included under the root, 1 when it is not or an argument is malformed.`;

const short = (hex: string): string => `${hex.toLowerCase().slice(0, 16)}…`;

function run(args: readonly string[]): { code: 0 | 1 | 2; out?: string; err?: string } {
  if (args.includes('--help') || args.includes('-h')) return { code: 2, out: USAGE };
  if (args.length !== 3) return { code: 2, err: USAGE };
  const [receipt, proof, root] = args as [string, string, string];
  if (!isReceipt(receipt)) return { code: 1, err: 'malformed receipt: expected 64 hex characters' };
  if (!parseProof(proof))
    return { code: 1, err: 'malformed proof: expected <index>/<size>[:<hash>.<hash>…] with index < size' };
  if (!isReceipt(root)) return { code: 1, err: 'malformed root: expected 64 hex characters' };
  if (!verifyInclusion(receipt, proof, root))
    return {
      code: 1,
      err: `NOT included: receipt ${short(receipt)} does not verify under root ${short(root)}`,
    };
  return { code: 0, out: `valid: receipt ${short(receipt)} is included under root ${short(root)}` };
}

const result = run(process.argv.slice(2));
if (result.out !== undefined) console.log(result.out);
if (result.err !== undefined) console.error(result.err);
process.exitCode = result.code;
