import { describe, expect, it, vi } from 'vitest';
import './polyfill.js';

describe('long timers in the local cloud', () => {
  it('does not fire a delay beyond 2^31 - 1 ms at once (Node alone fires it after 1 ms)', async () => {
    const fired = vi.fn();
    const timer = setTimeout(fired, 30 * 86_400_000);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(fired).not.toHaveBeenCalled();
    clearTimeout(timer);
  });

  it('leaves short delays to Node', async () => {
    const fired = vi.fn();
    setTimeout(fired, 5, 'argument');
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(fired).toHaveBeenCalledWith('argument');
  });
});
