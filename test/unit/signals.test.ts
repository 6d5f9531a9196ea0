import { afterEach, describe, expect, it } from 'vitest';
import { anySignal } from '../../src/client/signals.ts';

describe('anySignal without AbortSignal.any (before Chrome 116, Firefox 124, Safari 17.4)', () => {
  const native = AbortSignal.any;
  afterEach(() => {
    AbortSignal.any = native;
  });
  const withoutAny = (): void => {
    // @ts-expect-error: removing what older browsers lack
    delete AbortSignal.any;
    expect(AbortSignal.any).toBeUndefined();
  };

  it('aborts, with the reason, as soon as any of its signals aborts, and lets go of the others', () => {
    withoutAny();
    const a = new AbortController();
    const b = new AbortController();
    const combined = anySignal([a.signal, b.signal]);
    expect(combined.aborted).toBe(false);
    b.abort('stop');
    expect(combined.aborted).toBe(true);
    expect(combined.reason).toBe('stop');
    a.abort('later');
    expect(combined.reason).toBe('stop');
  });

  it('is aborted at once when a signal already is', () => {
    withoutAny();
    const a = new AbortController();
    a.abort('gone');
    const combined = anySignal([new AbortController().signal, a.signal]);
    expect(combined.aborted).toBe(true);
    expect(combined.reason).toBe('gone');
  });

  it('uses AbortSignal.any where the runtime has it', () => {
    let called = false;
    AbortSignal.any = (signals: AbortSignal[]) => {
      called = true;
      return native.call(AbortSignal, signals);
    };
    const a = new AbortController();
    const combined = anySignal([a.signal]);
    a.abort();
    expect(called).toBe(true);
    expect(combined.aborted).toBe(true);
  });
});
