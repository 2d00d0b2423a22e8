// The store log against the persistency rules on random programs: stores of every size
// (one word, parts of a line, whole lines, runs of lines that cross line and block
// boundaries, stores over lines still pending), flushes of ranges, fences, evictions.
// The log appends several-line stores as one run, leaves a line's newest entry's bytes in
// the visible line until a newer store to the line needs them, and retires runs of
// whole-line entries with one copy (assembly/pmem/storelog.ts); none of that may change
// an image. The expectations come from a byte model written from the rules alone:
//   - visible bytes: every store applied in program order;
//   - media: a line takes its visible bytes when a flush of it is followed by a fence
//     (every store to it before the flush), or when the log evicts its oldest store;
//   - a crash: per line, a prefix of its stores since media, the first one left out torn
//     at 8-byte words (the oracle of test/helpers/persistency-oracle.ts).
import { describe, expect, it } from 'vitest';
import { Rng } from '../src/index.js';
import { device, expectSameBytes } from './helpers/device.js';
import { legalImages, renderLines, touchedLines, type OracleStore } from './helpers/persistency-oracle.js';

const BYTES = 1 << 16;

function randomBytes(rng: Rng, length: number): Uint8Array {
  return Uint8Array.from({ length }, () => 1 + rng.below(255));
}

/** A random store: mostly small, some whole lines, some runs of lines. */
function randomStore(rng: Rng, window: number): OracleStore {
  const kind = rng.below(10);
  const length = kind < 4 ? 1 + rng.below(24) : kind < 7 ? 64 * (1 + rng.below(4)) : 64 + rng.below(400);
  const aligned = kind >= 4 && kind < 7;
  const addr = aligned ? 64 * rng.below(window / 64) : rng.below(window);
  return { addr, bytes: randomBytes(rng, Math.min(length, BYTES - addr)) };
}

describe('the store log on random programs', () => {
  it('keeps visible and media bytes as the rules say, over 40 seeds of stores, flushes and fences', async () => {
    for (let seed = 1; seed <= 40; seed++) {
      const rng = new Rng(seed);
      // Half the seeds with a small log, so that the oldest stores are evicted.
      const dev = await device(BYTES, { logCapacity: seed % 2 ? 65536 : 64 });
      const visible = new Uint8Array(BYTES);
      const media = new Uint8Array(BYTES);
      const window = 1024 * (1 + rng.below(16));
      const stores: OracleStore[] = [];
      const flushed: Array<[number, Uint8Array]> = []; // (line, its bytes when flushed), until the next fence
      const fence = (issue = true): void => {
        if (issue) dev.sfence();
        for (const [l, bytes] of flushed) media.set(bytes, l * 64);
        flushed.length = 0;
      };
      for (let step = 0; step < 300; step++) {
        const what = rng.below(10);
        if (what < 6) {
          const s = randomStore(rng, window);
          dev.store(s.addr, s.bytes);
          visible.set(s.bytes, s.addr);
          stores.push(s);
        } else if (what < 9) {
          // Flush a range (often exactly a store's), then maybe fence.
          const from = stores.length && rng.chance(0.6) ? stores[rng.below(stores.length)]! : { addr: rng.below(window), bytes: new Uint8Array(1 + rng.below(512)) };
          const first = Math.floor(from.addr / 64), last = Math.floor((from.addr + Math.max(1, from.bytes.length) - 1) / 64);
          // A flush covers the line's stores so far; the next fence makes them durable
          // (later stores to the line stay pending).
          dev.flush(first * 64, (last - first + 1) * 64);
          for (let l = first; l <= last; l++) flushed.push([l, visible.slice(l * 64, l * 64 + 64)]);
          if (rng.chance(0.7)) fence();
        } else {
          dev.persist(0, window); // clwb of every line, then sfence
          for (let l = 0; l < window / 64; l++) flushed.push([l, visible.slice(l * 64, l * 64 + 64)]);
          fence(false);
        }
      }
      expectSameBytes(dev.load(0, BYTES), visible, `seed ${seed}: visible bytes`);
      if (seed % 2) {
        // No eviction with the large log: media is exactly what the fences made durable.
        expectSameBytes(dev.readMedia(0, BYTES), media, `seed ${seed}: media bytes`);
      } else {
        // Evictions write a line's oldest stores early: media then holds, per line, either
        // what the fences made durable or a later version of the line (never bytes no store wrote).
        const devMedia = dev.readMedia(0, BYTES);
        for (let l = 0; l < BYTES / 64; l++) {
          const got = devMedia.subarray(l * 64, l * 64 + 64);
          const sameAsFenced = got.every((b, i) => b === media[l * 64 + i]);
          const sameAsVisible = got.every((b, i) => b === visible[l * 64 + i]);
          if (!sameAsFenced && !sameAsVisible) {
            // A line part way through its pending stores: every byte is one some store wrote or the fenced one.
            for (let i = 0; i < 64; i++) {
              const at = l * 64 + i;
              const written = stores.some((s) => s.addr <= at && at < s.addr + s.bytes.length && s.bytes[at - s.addr] === got[i]);
              expect(written || got[i] === media[at], `seed ${seed}: media byte ${at}`).toBe(true);
            }
          }
        }
      }
      // After a persist of everything, media and visible agree.
      dev.persist(0, BYTES);
      expectSameBytes(dev.readMedia(0, BYTES), visible, `seed ${seed}: media after a full persist`);
      dev.close();
    }
  });

  it('produces exactly the legal crash images of a window of pending stores, after random durable history', async () => {
    for (let seed = 1; seed <= 30; seed++) {
      const rng = new Rng(1000 + seed);
      const dev = await device(BYTES);
      // Durable history: several-line stores and overwrites, persisted (runs retire whole).
      for (let i = 0; i < 40; i++) {
        const s = randomStore(rng, 4096);
        dev.store(s.addr, s.bytes);
        if (rng.chance(0.5)) dev.persist(s.addr, s.bytes.length);
      }
      dev.persist(0, 8192); // every line the history touched (its stores reach past 4096)
      // A window the oracle can enumerate: small stores, two of them on one line (the older
      // entry keeps its bytes when the newer arrives), one whole-line store left pending
      // next to a flushed-and-fenced run.
      const line = rng.below(60);
      const window: OracleStore[] = [
        { addr: line * 64 + 8 * rng.below(4), bytes: randomBytes(rng, 8) },
        { addr: line * 64 + 8 * rng.below(4) + 32, bytes: randomBytes(rng, 1 + rng.below(16)) },
        { addr: ((line + 2) % 60) * 64 + rng.below(48), bytes: randomBytes(rng, 1 + rng.below(16)) },
      ];
      const run = { addr: 64 * 60, bytes: randomBytes(rng, 256) }; // lines 60..63: stored, flushed, fenced
      dev.store(run.addr, run.bytes);
      for (const s of window) dev.store(s.addr, s.bytes);
      dev.flush(run.addr, run.bytes.length);
      dev.sfence();
      expectSameBytes(dev.readMedia(run.addr, 256), run.bytes, `seed ${seed}: the fenced run is durable`);
      const oracle = legalImages(window, (l) => dev.readMedia(l * 64, 64), dev.domain);
      expect(dev.crashImageCount(), `seed ${seed}`).toBe(BigInt(oracle.count));
      const lines = touchedLines(window);
      const seen = new Set<string>();
      const target = dev.crash();
      for (const image of dev.crashImages({ maxImages: 100_000 })) {
        const crashed = image.device(target);
        const rendered = renderLines((a, n) => crashed.load(a, n), lines);
        expect(oracle.images.has(rendered), `seed ${seed}: image ${image.index} is not legal`).toBe(true);
        seen.add(rendered);
      }
      expect(seen, `seed ${seed}: every legal image`).toEqual(oracle.images);
      dev.close();
      target.close();
    }
  });
});
