import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { localCredentials } from '../local/dynamodb.js';

/** Percentile by nearest rank over a copy of the samples. */
export const percentile = (samples: number[], p: number): number => {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
};

export const ms = (value: number) => `${value.toFixed(value < 10 ? 2 : 1)} ms`;
export const perSecond = (value: number) => `${Math.round(value).toLocaleString('en-US')}/s`;

/** One line of progress on stderr that rewrites itself, so long runs show they are alive. */
export const progress = (label: string, done: number, total: number) => {
  if (!process.stderr.isTTY) {
    if (done === total || done % Math.max(1, Math.floor(total / 4)) === 0)
      process.stderr.write(`  ${label}: ${done}/${total}\n`);
    return;
  }
  const width = 30;
  const filled = Math.round((done / total) * width);
  process.stderr.write(
    `\r  ${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}${done === total ? '\n' : ''}`,
  );
};

export interface Figure {
  name: string;
  value: string;
  note?: string;
}

export const printFigures = (title: string, figures: Figure[]) => {
  console.log(`\n${title}`);
  const width = Math.max(...figures.map((figure) => figure.name.length));
  for (const figure of figures) {
    console.log(`  ${figure.name.padEnd(width)}  ${figure.value}${figure.note ? `   (${figure.note})` : ''}`);
  }
};

export const sleep = (milliseconds: number) => new Promise((resolve) => setTimeout(resolve, milliseconds));

/** PutItem with 16 in flight against DynamoDB Local: the ceiling for anything that writes an item. */
export const rawPutItemRate = async (
  endpoint: string,
  tableName: string,
  total: number,
  label: string,
): Promise<number> => {
  const client = DynamoDBDocumentClient.from(
    new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: localCredentials }),
  );
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < total) {
        const i = next++;
        await client.send(
          new PutCommand({ TableName: tableName, Item: { pk: `BENCH#${i % 64}`, sk: `RAW#${i}`, value: i } }),
        );
        if (i % 250 === 0) progress(label, i, total);
      }
    }),
  );
  progress(label, total, total);
  client.destroy();
  return total / ((performance.now() - started) / 1000);
};
