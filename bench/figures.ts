/**
 * The results model: figures (one measured quantity of one target, per run), ratios
 * between figures computed run by run, and the targets the issue sets on some ratios.
 */
import { spread, type Spread } from './stats.ts';

/** One measured quantity of one target: a value per run. */
export interface Figure extends Spread {
  /** 'W1', 'W6', 'Open', or a PRAGMA study row. */
  workload: string;
  /** What was measured, with its unit: 'events/s', 'p99 ms'. */
  metric: string;
  /** 'raw', 'cairn', 'idb', or a PRAGMA configuration. */
  target: string;
  /** Whether a larger value is better (throughput) or worse (time). */
  better: 'higher' | 'lower';
}

/** Names one figure. */
export interface FigureRef {
  workload: string;
  metric: string;
  target: string;
}

/** A ratio between two figures, and the bar the issue sets on it, if any. */
export interface RatioSpec {
  id: string;
  label: string;
  num: FigureRef;
  den: FigureRef;
  /** For times (lower is better) the ratio is den/num, so that above 1 always means faster. */
  speed?: boolean;
  goal?: { op: '>=' | '<='; value: number };
}

/** A ratio as measured: one value per run, each from figures of that same run. */
export interface Ratio extends Spread {
  id: string;
  label: string;
  goal?: { op: '>=' | '<='; value: number; met: boolean };
}

/** Everything one browser (or the PRAGMA study) produced. */
export interface Section {
  title: string;
  browser: string;
  date: string;
  mode: string;
  sizes: Record<string, number>;
  figures: Figure[];
  ratios: Ratio[];
  notes: string[];
}

/** The whole results file. */
export interface Results {
  machine: { cores: number; cpu: string; os: string; memoryGiB: number; node: string };
  sections: Record<string, Section>;
}

/** Collects per-run samples of figures as a run goes. */
export class FigureSet {
  readonly #values = new Map<string, { ref: FigureRef; better: 'higher' | 'lower'; runs: number[] }>();

  /** Records the value of a figure in run `run`. */
  add(ref: FigureRef, better: 'higher' | 'lower', run: number, value: number): void {
    const key = keyOf(ref);
    let entry = this.#values.get(key);
    if (entry === undefined) {
      entry = { ref, better, runs: [] };
      this.#values.set(key, entry);
    }
    entry.runs[run] = value;
  }

  /** The per-run values of a figure, or undefined when it was not measured. */
  runs(ref: FigureRef): number[] | undefined {
    return this.#values.get(keyOf(ref))?.runs;
  }

  /** Every figure, summarised. */
  figures(): Figure[] {
    return [...this.#values.values()].map(({ ref, better, runs }) => ({ ...ref, better, ...spread(runs) }));
  }

  /** The ratios of `specs` whose two figures were both measured, run by run. */
  ratios(specs: readonly RatioSpec[]): Ratio[] {
    const out: Ratio[] = [];
    for (const spec of specs) {
      const num = this.runs(spec.num);
      const den = this.runs(spec.den);
      if (num === undefined || den === undefined) continue;
      const n = Math.min(num.length, den.length);
      const values: number[] = [];
      for (let i = 0; i < n; i++) values.push(spec.speed ? den[i]! / num[i]! : num[i]! / den[i]!);
      const s = spread(values);
      const ratio: Ratio = { id: spec.id, label: spec.label, ...s };
      if (spec.goal !== undefined) {
        const met = spec.goal.op === '>=' ? s.median >= spec.goal.value : s.median <= spec.goal.value;
        ratio.goal = { ...spec.goal, met };
      }
      out.push(ratio);
    }
    return out;
  }
}

function keyOf(ref: FigureRef): string {
  return `${ref.workload}\u0000${ref.metric}\u0000${ref.target}`;
}
