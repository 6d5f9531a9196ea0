/**
 * A test-only SQLite VFS for sqlite-wasm in Node that keeps its files in memory and can
 * simulate power loss and storage faults under the real engine.
 *
 * The model of a disk (after the crash tests of SQLite itself):
 * - Each file has two layers: the durable bytes (what its last xSync made durable) and the
 *   operations since then (writes and truncates, in order), which are volatile. SQLite reads
 *   the live view: the durable bytes with every volatile operation applied.
 * - xSync of a file makes all of that file's volatile operations durable, and nothing of any
 *   other file's.
 * - A file's directory entry is durable from its first xSync. A file created and never synced
 *   may be missing after a power loss. xDelete is immediate and durable (an unlink followed by
 *   a directory sync), as SQLite asks for when it deletes a journal.
 * - Every xWrite and xSync is counted, from 1 (xTruncate is not: SQLite in WAL mode hardly
 *   calls it). Power can be lost at operation k: that operation and every later one, of any
 *   kind, fail with an I/O error, as for a process that died with the machine, and no byte
 *   changes any more.
 * - After a power loss the disk holds, per file, the durable bytes plus a random subset of the
 *   volatile operations, applied in random order. A write that survives may be torn: each of
 *   the 512-byte sectors it spans (aligned on the file) then holds the new bytes, the old ones,
 *   or, now and then, garbage over the whole sector, bytes the write did not cover included.
 *   A truncate that survives sets the length; the length also grows to cover every write that
 *   survives, zero-filled in between.
 * - The VFS reports a 4096-byte sector and no powersafe-overwrite capability, as the shipped
 *   `opfs-sahpool` VFS does, so SQLite pads and syncs the WAL as it does in a browser. SQLite
 *   then assumes that writing into a sector puts all of that sector at risk until the next
 *   sync, which is what the garbage stands for; the damage here stays within 512 bytes, one of
 *   the outcomes SQLite must survive.
 *
 * Faults: an armed fault makes matching operations fail without touching the file: xWrite with
 * SQLITE_IOERR or SQLITE_FULL, xSync with SQLITE_IOERR_FSYNC, xRead with SQLITE_IOERR_READ.
 * A fault is armed from a counted operation on, for a number of hits or until switched off.
 *
 * One process, one connection: locks are recorded and always granted, and there is no shared
 * memory (iVersion 1 I/O methods), so WAL needs `locking_mode=EXCLUSIVE`, as on OPFS.
 *
 * The methods run inside SQLite's C calls and must never throw: an unexpected exception is
 * kept in `unexpected` and reported to SQLite as an I/O error, and tests assert there is none.
 */
import type { Sqlite3Static, WasmPointer } from '@sqlite.org/sqlite-wasm';
import type { Random } from './random.ts';

/** A set of files as a disk holds them, by name. */
export type DiskImage = Map<string, Uint8Array>;

/** What a fault does. */
export type FaultKind =
  /** xWrite fails with SQLITE_IOERR. */
  | 'write-error'
  /** xWrite fails with SQLITE_FULL. */
  | 'disk-full'
  /** xSync fails with SQLITE_IOERR_FSYNC. */
  | 'sync-error'
  /** xRead fails with SQLITE_IOERR_READ. */
  | 'read-error';

/** One file operation, as a fault's predicate sees it. */
export interface FileOperation {
  kind: 'read' | 'write' | 'sync';
  file: string;
  offset: number;
  length: number;
  /** By how many bytes a write would grow its file. */
  grows: number;
  /** The operation's number: its own for a write or sync, the next one's for a read. */
  index: number;
}

/** Which operations a fault hits. */
export interface FaultSpec {
  kind: FaultKind;
  /** The first operation number it applies to; default the next one. */
  from?: number;
  /** How many operations it fails before it switches itself off; default until `off()`. */
  times?: number;
  /** Narrows the operations it applies to. */
  match?: (op: FileOperation) => boolean;
}

/** An armed fault. */
export interface Fault {
  readonly kind: FaultKind;
  /** How many operations it failed. */
  readonly hits: number;
  /** False once switched off or spent. */
  readonly active: boolean;
  off(): void;
}

/** What the VFS has done since it was last reset. */
export interface VfsStats {
  writes: number;
  syncs: number;
  reads: number;
  truncates: number;
  faultsHit: number;
}

/** A counted operation: which file it wrote or synced. */
export interface CountedOperation {
  kind: 'write' | 'sync';
  file: string;
}

/** The crash-simulating VFS; see the module header for its model. */
export interface CrashVfs {
  /** The name to open databases with (`vfs` of the oo1 DB options). */
  readonly name: string;
  /** How many xWrite and xSync calls were made, counting failed ones. */
  readonly ops: number;
  readonly stats: Readonly<VfsStats>;
  /** Every counted operation since the last reset; entry i is operation i + 1. */
  readonly log: readonly CountedOperation[];
  /** True once the operation power was lost at has been reached. */
  readonly powerLost: boolean;
  /** Exceptions thrown inside VFS methods; there should be none. */
  readonly unexpected: readonly unknown[];
  /** Replaces every file with `image` (all durable), and clears counters, power loss and faults. */
  reset(image?: DiskImage): void;
  /** Loses power at operation `op` (counted from 1 since the last reset). */
  losePowerAt(op: number): void;
  /** The files as a disk would hold them after the power loss (or a power loss now). */
  crashImage(random: Random): DiskImage;
  /** The files as they stand, every write included: what a clean shutdown leaves. */
  liveImage(): DiskImage;
  /** Arms a fault. */
  inject(spec: FaultSpec): Fault;
  /** Switches every fault off. */
  clearFaults(): void;
  /** The bytes all files take, as SQLite sees them. */
  usedBytes(): number;
  /** The names of the files that exist, as SQLite sees them. */
  files(): string[];
}

/** Registers a crash VFS named `name` with this sqlite-wasm instance. */
export function installCrashVfs(sqlite3: Sqlite3Static, name = 'crash'): CrashVfs {
  const { capi, wasm } = sqlite3;
  if (capi.sqlite3_vfs_find(name)) throw new Error(`A VFS named ${name} is already registered`);

  let files = new Map<string, StoredFile>();
  const handles = new Map<number, Handle>();
  let ops = 0;
  let powerLossAt = Infinity;
  let powerLost = false;
  let stats: VfsStats = { writes: 0, syncs: 0, reads: 0, truncates: 0, faultsHit: 0 };
  let faults: ArmedFault[] = [];
  let log: CountedOperation[] = [];
  const unexpected: unknown[] = [];
  let tempFiles = 0;

  /** Counts a write or sync; true when power is gone by the time it runs. */
  function countAndCheckPower(kind: CountedOperation['kind'], file: string): boolean {
    ops++;
    log.push({ kind, file });
    if (ops >= powerLossAt) powerLost = true;
    return powerLost;
  }

  /** The result code of the fault that hits `op`, or 0. */
  function faultFor(op: FileOperation): number {
    for (const f of faults) {
      if (!f.active || op.index < f.from || KIND_OF[f.kind] !== op.kind) continue;
      if (f.match !== undefined && !f.match(op)) continue;
      f.hits++;
      stats.faultsHit++;
      if (f.hits >= f.times) f.active = false;
      return RESULT_OF[f.kind];
    }
    return 0;
  }

  /** Runs a method body; an exception becomes `rc` (and is kept, since it is a bug here). */
  function guarded(rc: number, body: () => number): number {
    try {
      return body();
    } catch (e) {
      unexpected.push(e);
      return rc;
    }
  }

  const io = new capi.sqlite3_io_methods();
  // The typings name this member without the `$` that the struct binder gives it.
  (io as unknown as { $iVersion: number }).$iVersion = 1;
  // The package's typings declare every method as returning a result code, which
  // xSectorSize and xDeviceCharacteristics do not; the methods are typed here instead.
  // 64-bit arguments (offsets, sizes) arrive as BigInt, hence Number() on each of them.
  const ioMethods: Record<string, (...args: number[]) => number> = {
    xClose: (pFile) =>
      guarded(capi.SQLITE_IOERR_CLOSE, () => {
        const h = handles.get(Number(pFile));
        handles.delete(Number(pFile));
        if (h !== undefined && (h.flags & capi.SQLITE_OPEN_DELETEONCLOSE) !== 0) files.delete(h.name);
        return 0;
      }),
    xRead: (pFile, pDest, n, offset) =>
      guarded(capi.SQLITE_IOERR_READ, () => {
        const h = handle(pFile);
        stats.reads++;
        if (powerLost) return capi.SQLITE_IOERR_READ;
        const at = Number(offset);
        const rc = faultFor({ kind: 'read', file: h.name, offset: at, length: n, grows: 0, index: ops + 1 });
        if (rc !== 0) return rc;
        const live = h.file.live;
        const available = Math.max(0, Math.min(n, live.size - at));
        const heap = wasm.heap8u();
        const dest = Number(pDest);
        if (available > 0) heap.set(live.view(at, available), dest);
        if (available < n) {
          // SQLite relies on the rest being zeroed on a short read.
          heap.fill(0, dest + available, dest + n);
          return capi.SQLITE_IOERR_SHORT_READ;
        }
        return 0;
      }),
    xWrite: (pFile, pSrc, n, offset) =>
      guarded(capi.SQLITE_IOERR_WRITE, () => {
        const h = handle(pFile);
        stats.writes++;
        if (countAndCheckPower('write', h.name)) return capi.SQLITE_IOERR;
        const at = Number(offset);
        const grows = Math.max(0, at + n - h.file.live.size);
        const rc = faultFor({ kind: 'write', file: h.name, offset: at, length: n, grows, index: ops });
        if (rc !== 0) return rc;
        const src = Number(pSrc);
        const data = wasm.heap8u().slice(src, src + n);
        h.file.live.write(at, data);
        h.file.pending.push({ kind: 'write', offset: at, data });
        return 0;
      }),
    xTruncate: (pFile, size) =>
      guarded(capi.SQLITE_IOERR_TRUNCATE, () => {
        const h = handle(pFile);
        stats.truncates++;
        if (powerLost) return capi.SQLITE_IOERR_TRUNCATE;
        const to = Number(size);
        h.file.live.truncate(to);
        h.file.pending.push({ kind: 'truncate', size: to });
        return 0;
      }),
    xSync: (pFile, _flags) =>
      guarded(capi.SQLITE_IOERR_FSYNC, () => {
        const h = handle(pFile);
        stats.syncs++;
        if (countAndCheckPower('sync', h.name)) return capi.SQLITE_IOERR_FSYNC;
        const rc = faultFor({ kind: 'sync', file: h.name, offset: 0, length: 0, grows: 0, index: ops });
        if (rc !== 0) return rc;
        h.file.sync();
        return 0;
      }),
    xFileSize: (pFile, pSize) =>
      guarded(capi.SQLITE_IOERR_FSTAT, () => {
        const h = handle(pFile);
        if (powerLost) return capi.SQLITE_IOERR_FSTAT;
        wasm.poke64(pSize, BigInt(h.file.live.size));
        return 0;
      }),
    xLock: (pFile, level) =>
      guarded(capi.SQLITE_IOERR_LOCK, () => {
        handle(pFile).lock = level;
        return 0;
      }),
    xUnlock: (pFile, level) =>
      guarded(capi.SQLITE_IOERR_UNLOCK, () => {
        handle(pFile).lock = level;
        return 0;
      }),
    // One connection in one process: nobody else can hold a reserved lock.
    xCheckReservedLock: (_pFile, pOut) =>
      guarded(capi.SQLITE_IOERR_CHECKRESERVEDLOCK, () => {
        wasm.poke32(pOut, 0);
        return 0;
      }),
    xFileControl: () => capi.SQLITE_NOTFOUND,
    xSectorSize: () => SECTOR_SIZE_REPORTED,
    xDeviceCharacteristics: () => capi.SQLITE_IOCAP_UNDELETABLE_WHEN_OPEN,
  };
  sqlite3.vfs.installVfs({ io: { struct: io, methods: ioMethods as unknown as IoMethodsArg } });

  function handle(pFile: WasmPointer): Handle {
    const h = handles.get(Number(pFile));
    if (h === undefined) throw new Error(`No open file for sqlite3_file ${pFile}`);
    return h;
  }

  const vfs = new capi.sqlite3_vfs();
  vfs.$iVersion = 2;
  vfs.$szOsFile = (capi.sqlite3_file as unknown as { structInfo: { sizeof: number } }).structInfo.sizeof;
  vfs.$mxPathname = MAX_PATHNAME;
  // Randomness seeds SQLite's own PRNG (WAL salts, temporary names): the default VFS's will do.
  const fallback = capi.sqlite3_vfs_find(null);
  if (fallback) {
    const dVfs = new capi.sqlite3_vfs(fallback);
    (vfs as unknown as { $xRandomness: WasmPointer }).$xRandomness = (dVfs as unknown as { $xRandomness: WasmPointer }).$xRandomness;
    dVfs.dispose();
  }
  const vfsMethods: Record<string, (...args: number[]) => number> = {
    xOpen: (_pVfs, zName, pFile, flags, pOutFlags) =>
      guarded(capi.SQLITE_CANTOPEN, () => {
        if (powerLost) return capi.SQLITE_CANTOPEN;
        const fileName = zName ? (wasm.cstrToJs(zName) ?? '') : '';
        const path = fileName === '' ? `/temp-${++tempFiles}` : fileName;
        let file = files.get(path);
        if (file === undefined) {
          if ((flags & capi.SQLITE_OPEN_CREATE) === 0) return capi.SQLITE_CANTOPEN;
          file = new StoredFile(undefined);
          files.set(path, file);
        }
        handles.set(Number(pFile), { name: path, file, flags, lock: 0 });
        const sqFile = new capi.sqlite3_file(pFile);
        sqFile.$pMethods = io.pointer;
        sqFile.dispose();
        if (pOutFlags) wasm.poke32(pOutFlags, flags);
        return 0;
      }),
    xDelete: (_pVfs, zName, _syncDir) =>
      guarded(capi.SQLITE_IOERR_DELETE, () => {
        if (powerLost) return capi.SQLITE_IOERR_DELETE;
        files.delete(wasm.cstrToJs(zName) ?? '');
        return 0;
      }),
    xAccess: (_pVfs, zName, _flags, pOut) =>
      guarded(capi.SQLITE_IOERR_ACCESS, () => {
        if (powerLost) return capi.SQLITE_IOERR_ACCESS;
        wasm.poke32(pOut, files.has(wasm.cstrToJs(zName) ?? '') ? 1 : 0);
        return 0;
      }),
    xFullPathname: (_pVfs, zName, nOut, zOut) =>
      guarded(capi.SQLITE_CANTOPEN, () => (wasm.cstrncpy(zOut, zName, nOut) < nOut ? 0 : capi.SQLITE_CANTOPEN)),
    xSleep: () => 0,
    xCurrentTime: (_pVfs, pOut) => {
      wasm.poke(pOut, JULIAN_UNIX_EPOCH + Date.now() / MS_PER_DAY, 'double');
      return 0;
    },
    xCurrentTimeInt64: (_pVfs, pOut) => {
      wasm.poke64(pOut, BigInt(JULIAN_UNIX_EPOCH_MS) + BigInt(Date.now()));
      return 0;
    },
    xGetLastError: () => 0,
  };
  sqlite3.vfs.installVfs({ vfs: { struct: vfs, name, methods: vfsMethods as unknown as VfsMethodsArg } });

  return {
    name,
    get ops() {
      return ops;
    },
    get stats() {
      return stats;
    },
    get log() {
      return log;
    },
    get powerLost() {
      return powerLost;
    },
    unexpected,
    reset(image) {
      if (handles.size > 0) throw new Error('reset needs every database on this VFS closed');
      files = new Map();
      for (const [path, bytes] of image ?? []) files.set(path, new StoredFile(bytes));
      ops = 0;
      powerLossAt = Infinity;
      powerLost = false;
      stats = { writes: 0, syncs: 0, reads: 0, truncates: 0, faultsHit: 0 };
      faults = [];
      log = [];
      unexpected.length = 0;
    },
    losePowerAt(op) {
      if (!Number.isSafeInteger(op) || op < 1) throw new Error(`Power is lost at an operation >= 1, got ${op}`);
      powerLossAt = op;
      if (ops >= op) powerLost = true;
    },
    crashImage(random) {
      const image: DiskImage = new Map();
      for (const [path, file] of files) {
        const bytes = file.afterPowerLoss(random);
        if (bytes !== undefined) image.set(path, bytes);
      }
      return image;
    },
    liveImage() {
      const image: DiskImage = new Map();
      for (const [path, file] of files) image.set(path, file.live.copyOut());
      return image;
    },
    inject(spec) {
      const armed: ArmedFault = {
        kind: spec.kind,
        from: spec.from ?? ops + 1,
        times: spec.times ?? Infinity,
        match: spec.match,
        hits: 0,
        active: true,
      };
      faults.push(armed);
      return {
        kind: spec.kind,
        get hits() {
          return armed.hits;
        },
        get active() {
          return armed.active;
        },
        off() {
          armed.active = false;
        },
      };
    },
    clearFaults() {
      for (const f of faults) f.active = false;
      faults = [];
    },
    usedBytes() {
      let total = 0;
      for (const file of files.values()) total += file.live.size;
      return total;
    },
    files: () => [...files.keys()],
  };
}

type InstallVfsOptions = Parameters<Sqlite3Static['vfs']['installVfs']>[0];
type IoMethodsArg = NonNullable<InstallVfsOptions['io']>['methods'];
type VfsMethodsArg = NonNullable<InstallVfsOptions['vfs']>['methods'];

/** The granularity of torn writes. */
export const TORN_SECTOR = 512;
/** What xSectorSize reports: the sahpool VFS's value. */
const SECTOR_SIZE_REPORTED = 4096;
const MAX_PATHNAME = 512;
const JULIAN_UNIX_EPOCH = 2440587.5;
const JULIAN_UNIX_EPOCH_MS = 210866760000000;
const MS_PER_DAY = 86_400_000;

const KIND_OF: Record<FaultKind, FileOperation['kind']> = {
  'write-error': 'write',
  'disk-full': 'write',
  'sync-error': 'sync',
  'read-error': 'read',
};

/** SQLite's result codes for each fault (the values are the C API's, fixed forever). */
const RESULT_OF: Record<FaultKind, number> = {
  'write-error': 10, // SQLITE_IOERR
  'disk-full': 13, // SQLITE_FULL
  'sync-error': 1034, // SQLITE_IOERR_FSYNC
  'read-error': 266, // SQLITE_IOERR_READ
};

interface ArmedFault {
  kind: FaultKind;
  from: number;
  times: number;
  match: ((op: FileOperation) => boolean) | undefined;
  hits: number;
  active: boolean;
}

interface Handle {
  name: string;
  file: StoredFile;
  flags: number;
  lock: number;
}

type VolatileOp = { kind: 'write'; offset: number; data: Uint8Array } | { kind: 'truncate'; size: number };

/** One file: its durable bytes, the operations since its last sync, and the live view of both. */
class StoredFile {
  /** Undefined until the file is first synced: its directory entry is not durable yet. */
  durable: GrowableBytes | undefined;
  readonly live: GrowableBytes;
  pending: VolatileOp[] = [];

  constructor(bytes: Uint8Array | undefined) {
    this.durable = bytes === undefined ? undefined : GrowableBytes.from(bytes);
    this.live = bytes === undefined ? new GrowableBytes() : GrowableBytes.from(bytes);
  }

  /** Makes every volatile operation durable; the cost is that of the operations, not the file. */
  sync(): void {
    this.durable ??= new GrowableBytes();
    for (const op of this.pending) apply(this.durable, op);
    this.pending = [];
  }

  /** The file's bytes after a power loss, or undefined if its directory entry was lost. */
  afterPowerLoss(random: Random): Uint8Array | undefined {
    if (this.durable === undefined && random.chance(0.5)) return undefined;
    const disk = this.durable?.copy() ?? new GrowableBytes();
    // All, none, or any share of what was not synced reached the disk, in any order.
    const share = random.pick([0, 1, random.next()]);
    const survivors = random.shuffle(this.pending.filter(() => random.next() < share));
    for (const op of survivors) {
      if (op.kind === 'write' && op.data.length > 1 && random.chance(0.25)) writeTorn(disk, op, random);
      else apply(disk, op);
    }
    return disk.copyOut();
  }
}

function apply(bytes: GrowableBytes, op: VolatileOp): void {
  if (op.kind === 'write') bytes.write(op.offset, op.data);
  else bytes.truncate(op.size);
}

/** Writes a torn write: each sector it spans ends up new, old, or garbage. */
function writeTorn(disk: GrowableBytes, op: { offset: number; data: Uint8Array }, random: Random): void {
  const end = op.offset + op.data.length;
  for (let start = op.offset; start < end; ) {
    const sector = Math.floor(start / TORN_SECTOR) * TORN_SECTOR;
    const sectorEnd = Math.min(end, sector + TORN_SECTOR);
    const fate = random.next();
    if (fate < 0.5) {
      disk.write(start, op.data.subarray(start - op.offset, sectorEnd - op.offset));
    } else if (fate < 0.6) {
      // The whole sector, up to what the file or this write covers.
      const garbageEnd = Math.min(sector + TORN_SECTOR, Math.max(disk.size, sectorEnd));
      const garbage = new Uint8Array(garbageEnd - sector);
      for (let i = 0; i < garbage.length; i++) garbage[i] = random.int(256);
      disk.write(sector, garbage);
    }
    start = sectorEnd;
  }
}

/** A byte array that grows by doubling; bytes past `size` are always zero. */
class GrowableBytes {
  #buffer: Uint8Array;
  size = 0;

  constructor(capacity = 0) {
    this.#buffer = new Uint8Array(capacity);
  }

  static from(bytes: Uint8Array): GrowableBytes {
    const g = new GrowableBytes(bytes.length);
    g.#buffer.set(bytes);
    g.size = bytes.length;
    return g;
  }

  view(offset: number, length: number): Uint8Array {
    return this.#buffer.subarray(offset, offset + length);
  }

  write(offset: number, data: Uint8Array): void {
    const end = offset + data.length;
    this.#reserve(end);
    // A gap between the old end and the write reads as zeros, which holds by the invariant.
    this.#buffer.set(data, offset);
    if (end > this.size) this.size = end;
  }

  truncate(size: number): void {
    if (size < this.size) this.#buffer.fill(0, size, this.size);
    else this.#reserve(size);
    this.size = size;
  }

  copy(): GrowableBytes {
    return GrowableBytes.from(this.view(0, this.size));
  }

  copyOut(): Uint8Array {
    return this.#buffer.slice(0, this.size);
  }

  #reserve(capacity: number): void {
    if (capacity <= this.#buffer.length) return;
    const grown = new Uint8Array(Math.max(capacity, this.#buffer.length * 2, 4096));
    grown.set(this.#buffer.subarray(0, this.size));
    this.#buffer = grown;
  }
}
