/**
 * Reads a required environment variable once, at module scope, so a misconfigured function fails at
 * cold start with a clear message instead of on the first request that needs the value.
 */
export const requireEnv = (name: string): string => {
  const value = process.env[name];
  if (value === undefined || value === '') {
    throw new Error(`Missing required environment variable ${name}`);
  }
  return value;
};
