// One torrent's swarm on this machine, through torrent-stream (BitTorrent wire protocol over TCP, each
// piece checked against its sha1 before it is kept). No DHT and no public trackers: peers are the
// addresses the caller passes (the buyer's seed, from the job spec) and those the trackers it names (the
// hub's) hand out. `fetch` downloads every piece into `dir` and resolves when all are there and verified;
// a swarm keeps serving what it has until closed.
import { createServer } from 'node:net';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import type torrentStreamFn from 'torrent-stream';
type Wire = ReturnType<typeof torrentStreamFn>['swarm']['wires'][number];

/**
 * peer-wire-protocol (torrent-stream's wire) reads the peer id from the handshake but does not keep it;
 * newer BitTorrent libraries keep it as `wire.peerId` (hex), and so does this, once per process. A peer is
 * known by its id: its address is no identity (an incoming connection comes from an ephemeral port, and
 * every peer on one host or behind one NAT shares the host part).
 */
async function keepPeerIds(): Promise<void> {
  const { default: Wire } = await import('peer-wire-protocol');
  const proto = Wire.prototype as unknown as { _onhandshake(this: Wire, h: Buffer, id: Buffer, e: unknown): void; sosnaKeepsPeerIds?: true };
  if (proto.sosnaKeepsPeerIds) return;
  const onhandshake = proto._onhandshake;
  proto._onhandshake = function (infoHash, peerId, extensions) {
    this.peerId = Buffer.isBuffer(peerId) ? peerId.toString('hex') : undefined;
    onhandshake.call(this, infoHash, peerId, extensions);
  };
  proto.sosnaKeepsPeerIds = true;
}

export interface SwarmOptions {
  /** Where the files are (a seed) or go (a fetch): the torrent's name is a folder or file below it. */
  dir: string;
  /** host:port of peers to connect to. */
  peers?: string[];
  /**
   * Of `peers`, those that are seeds (the buyer): a piece that another peer has is not asked of them, so
   * that a seed sends each piece about once and the fetchers feed each other.
   */
  seeds?: string[];
  /** http(s) tracker announce URLs (the hub's), none by default. */
  trackers?: string[];
  /** Port to accept peers on; 0: any free one. */
  port?: number;
  /** Called about once a second while fetching: bytes verified so far, and the total. */
  onProgress?(done: number, total: number): void;
  /**
   * A piece failed its hash (it is fetched again, from another peer if one has it). A piece is put
   * together from blocks of several peers: `sole` says this peer sent all of it (then it is to blame).
   */
  onInvalidPiece?(peer: string, index: number, sole: boolean): void;
}

export interface Swarm {
  infoHash: string;
  port: number;
  /** Bytes sent to other peers / received from them (payload, all pieces). */
  uploaded(): number;
  downloaded(): number;
  /** Bytes verified and stored. */
  have(): number;
  total: number;
  connect(peer: string): void;
  /**
   * Dials the seeds (SwarmOptions.seeds) again while pieces are missing: a seed that could not be reached,
   * or went away, is forgotten by torrent-stream and may be back (a buyer's machine that slept).
   */
  retrySeeds(): void;
  /** Resolves when every piece is verified here (at once for a complete seed). */
  complete: Promise<void>;
  close(): Promise<void>;
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((ok, fail) => s.once('error', fail).listen(0, ok));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((ok) => s.close(() => ok()));
  return port;
}

/**
 * Opens the swarm of `torrent` (the .torrent, or a magnet link: then the metadata comes from the peers,
 * checked against the info hash, within `readyTimeoutMs`).
 */
export async function openSwarm(torrent: Buffer | string, o: SwarmOptions, readyTimeoutMs = 60_000): Promise<Swarm> {
  mkdirSync(o.dir, { recursive: true });
  // loaded on first use: its old dependencies warn about Buffer() when loaded (every CLI command otherwise)
  const { default: torrentStream } = await import('torrent-stream');
  await keepPeerIds();
  const engine = torrentStream(torrent, {
    path: o.dir,
    tmp: tmpdir(),
    dht: false,
    tracker: (o.trackers ?? []).length > 0,
    trackers: o.trackers ?? [],
    verify: true,
  });
  let shut = false;
  /** Bytes verified here (counted once the metadata is known). */
  let have = 0;
  /** Addresses of dropped peers we dialled (not dialled again) and the ids of dropped peers (refused). */
  const dropped = new Set<string>();
  const banned = new Set<string>();
  // torrent-stream blocks a whole IP address after a few strikes, the innocent senders of mixed pieces
  // and every peer on a shared address (loopback, NAT) included: blame is decided here instead
  engine.block = () => {};
  // the wires open now, and no wait for torrent-stream's 10 s rechoke: a job's peers are all welcome, so
  // an interested peer is unchoked at once
  const wires = new Set<Wire>();
  // the senders of the piece that just failed its hash: torrent-stream assigns each sender's
  // `badPieceStrikes` right after its 'invalid-piece' event, closed senders included (a piece keeps the
  // blocks a peer sent before it went: a piece finished by an honest peer after it is still mixed)
  let struck: Wire[] | null = null;
  const seeds = new Set(o.seeds ?? []);
  const seedView = seedPieceView();
  // torrent-stream picks pieces again only on a peer's message: after a peer is gone (the seeds' view of
  // their pieces changed), make it pick now (deselecting a range never selected just does that)
  const repick = () => engine.deselect(-1, -1);
  // who a wire is: for one we dialled, the address we dialled (torrent-stream reconnects to it); for one
  // that reached us, where it came from (torrent-stream's `peerAddress` is then this side's own address)
  const peerOf = new WeakMap<Wire, { name: string; dialled: boolean }>();
  const nameOf = (w: Wire) => peerOf.get(w)?.name ?? w.peerAddress ?? 'unknown';
  const drop = (w: Wire) => {
    const p = peerOf.get(w);
    if (p?.dialled) {
      dropped.add(p.name);
      engine.disconnect(p.name);
    }
    w.destroy();
  };
  // before torrent-stream's own listener, so that the engine's 'wire' listeners below know the peer
  engine.swarm.prependListener('wire', (w: Wire, c: { localPort?: number; remoteAddress?: string; remotePort?: number }) => {
    const dialled = c.localPort !== port;
    const from = c.remoteAddress ? `${c.remoteAddress.replace(/^::ffff:/, '')}:${c.remotePort}` : 'unknown';
    peerOf.set(w, { dialled, name: dialled ? (w.peerAddress ?? from) : from });
  });
  engine.on('wire', (w: Wire) => {
    // a dropped peer connecting again (to us, or we to it at another address)
    if (w.peerId && banned.has(w.peerId)) return drop(w);
    wires.add(w);
    let strikes: unknown = [];
    Object.defineProperty(w, 'badPieceStrikes', { configurable: true, get: () => strikes, set: (v) => ((strikes = v), struck?.push(w)) });
    // a dropped peer is closed at once: its pieces leave the seeds' view on its close (seedPieceView)
    if (seeds.has(w.peerAddress ?? '')) seedView.addSeed(w);
    else seedView.addPeer(w);
    w.on('interested', () => w.unchoke());
    w.on('close', () => {
      wires.delete(w);
      if (engine.torrent && !shut && have < engine.torrent.length) repick();
    });
  });
  const connect = (p: string) => void (dropped.has(p) || engine.connect(p));
  const port = o.port || (await freePort());
  await new Promise<void>((ok) => engine.listen(port, () => ok()));
  for (const p of o.peers ?? []) connect(p);
  const ready = new Promise<void>((ok, fail) => {
    const t = setTimeout(() => fail(new Error(`no peer gave the torrent's metadata within ${readyTimeoutMs / 1000} s (peers: ${(o.peers ?? []).join(', ') || 'none'})`)), readyTimeoutMs);
    engine.once('ready', () => (clearTimeout(t), ok()));
    engine.once('error', (err: Error) => (clearTimeout(t), fail(err)));
  });
  try {
    await ready;
  } catch (err) {
    engine.destroy();
    throw err;
  }
  const t = engine.torrent!;
  // torrent-stream says a piece is verified (and the swarm idle) as soon as it hands the piece to its
  // store, before the bytes are on disk: count the writes in flight, so that `complete` and `close` wait
  // for them (a reader right after `complete`, or a close right after it, would otherwise see old bytes)
  let writing = 0;
  const drained: (() => void)[] = [];
  const flushed = () => (writing === 0 ? Promise.resolve() : new Promise<void>((ok) => drained.push(ok)));
  const store = engine.store!;
  const put = store.put.bind(store);
  store.put = (i, b, cb) => {
    writing++;
    put(i, b, (err) => {
      writing--;
      cb?.(err);
      if (writing === 0) for (const ok of drained.splice(0)) ok();
    });
  };
  const pieceLen = (i: number) => (i === t.pieces.length - 1 ? t.length - t.pieceLength * (t.pieces.length - 1) : t.pieceLength);
  for (let i = 0; i < t.pieces.length; i++) if (engine.bitfield.get(i)) have += pieceLen(i);
  engine.on('verify', (i: number) => (have += pieceLen(i)));
  engine.on('invalid-piece', (index: number) => {
    // torrent-stream strikes the sending wires right after this event, in this same turn
    const senders: Wire[] = (struck = []);
    queueMicrotask(() => {
      if (struck === senders) struck = null;
      // by peer (one peer may have sent blocks over two connections)
      const peers = new Map<unknown, Wire>();
      for (const w of senders) if (!peers.has(w.peerId ?? w)) peers.set(w.peerId ?? w, w);
      for (const w of peers.values()) o.onInvalidPiece?.(nameOf(w), index, peers.size === 1);
      // a whole piece from one peer that fails its hash is that peer's doing (TCP does not flip bits
      // unnoticed): drop it for good, every connection with it (by its peer id: it may have dialled us as
      // well) and any later one; a piece from several peers blames none of them
      if (peers.size === 1) {
        const bad = [...peers.values()][0]!;
        if (bad.peerId) banned.add(bad.peerId);
        for (const w of wires) if (w === bad || (bad.peerId && w.peerId === bad.peerId)) drop(w);
        repick();
      }
    });
  });
  const complete = have >= t.length
    ? Promise.resolve()
    : new Promise<void>((ok) => {
        const tick = setInterval(() => o.onProgress?.(Math.min(have, t.length), t.length), 1000);
        engine.on('idle', () => {
          if (have < t.length) return;
          clearInterval(tick);
          o.onProgress?.(t.length, t.length);
          void flushed().then(ok);
        });
        // in an order of its own (ranges of pieces, shuffled): fetchers starting together ask the seed for
        // different pieces, and then have something to give each other. In order (even from a random
        // start) one fetcher catches up with another and both ask the seed for the same next pieces.
        for (const [from, to] of shuffledRanges(t.pieces.length, 256)) engine.select(from, to, 0);
      });
  return {
    infoHash: engine.infoHash,
    port,
    total: t.length,
    uploaded: () => engine.swarm.uploaded,
    downloaded: () => engine.swarm.downloaded,
    have: () => Math.min(have, t.length),
    connect,
    retrySeeds: () => {
      if (have < t.length) for (const p of seeds) connect(p);
    },
    complete,
    close: () => flushed().then(() => void (shut = true)).then(() => new Promise<void>((ok) => engine.destroy(() => ok()))),
  };
}

/** `n` pieces cut into at most `most` ranges [from, to] (inclusive), in a random order. */
export function shuffledRanges(n: number, most: number): [number, number][] {
  const size = Math.max(1, Math.ceil(n / most));
  const ranges: [number, number][] = [];
  for (let from = 0; from < n; from += size) ranges.push([from, Math.min(n, from + size) - 1]);
  for (let i = ranges.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [ranges[i], ranges[j]] = [ranges[j]!, ranges[i]!];
  }
  return ranges;
}

/**
 * What torrent-stream sees of a seed's pieces: only those no other (non-seed) peer here has, so that it
 * asks a seed for a piece only when nobody else can give it. torrent-stream reads `wire.peerPieces[i]`
 * for every piece it considers, for every block that arrives: the view is a plain array kept up to date
 * from the peers' bitfield/have messages and closes (a count of holders per piece), not computed on read
 * (that was a scan of every wire per read: quadratic in the pieces, 0.07x of HTTP at 1 GiB).
 */
function seedPieceView() {
  const holders: number[] = []; // per piece: how many non-seed peers have it
  const seedWires = new Map<Wire, boolean[]>(); // a seed's wire -> what it really has
  const hide = (i: number) => {
    for (const w of seedWires.keys()) (w.peerPieces as unknown as boolean[])[i] = false;
  };
  const show = (i: number) => {
    for (const [w, real] of seedWires) (w.peerPieces as unknown as boolean[])[i] = real[i] === true;
  };
  return {
    addPeer(w: Wire) {
      const counted: boolean[] = [];
      const count = (i: number) => {
        if (counted[i]) return;
        counted[i] = true;
        holders[i] = (holders[i] ?? 0) + 1;
        if (holders[i] === 1) hide(i);
      };
      const pieces = () => w.peerPieces as unknown as boolean[];
      w.prependListener('bitfield', () => pieces().forEach((has, i) => has && count(i)));
      w.prependListener('have', (i: number) => count(i));
      w.on('close', () => {
        counted.forEach((c, i) => {
          if (!c) return;
          holders[i]!--;
          if (holders[i] === 0) show(i);
        });
        counted.length = 0;
      });
    },
    addSeed(w: Wire) {
      // peer-wire-protocol writes the seed's bitfield and haves into w.peerPieces: read them into `real`
      // before torrent-stream looks (these listeners run first), and leave shown only what nobody else has
      const real: boolean[] = [];
      seedWires.set(w, real);
      const view = () => w.peerPieces as unknown as boolean[];
      const sync = (i: number) => {
        if (view()[i]) real[i] = true;
        view()[i] = real[i] === true && !holders[i];
      };
      w.prependListener('bitfield', () => view().forEach((_, i) => sync(i)));
      w.prependListener('have', (i: number) => sync(i));
      w.on('close', () => seedWires.delete(w));
    },
  };
}
