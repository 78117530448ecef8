// Worker entry of bench/fleet.ts: the worker thread needs tsx's loader to run TypeScript.
import { register } from 'tsx/esm/api';

register();
await import('./fleet.ts');
