// The parts of torrent-stream (https://github.com/mafintosh/torrent-stream, MIT) that transfer.ts uses.
declare module 'torrent-stream' {
  import type { EventEmitter } from 'node:events';
  interface Wire extends EventEmitter {
    peerAddress?: string;
    /** The peer's id from its handshake, hex (kept by transfer.ts: see keepPeerIds). */
    peerId?: string;
    badPieceStrikes: number[];
    peerPieces: unknown;
    destroy(): void;
    unchoke(): void;
  }
  interface TorrentFile {
    name: string;
    path: string;
    length: number;
    select(): void;
    deselect(): void;
  }
  interface Engine extends EventEmitter {
    infoHash: string;
    files: TorrentFile[];
    torrent: { pieces: string[]; length: number; pieceLength: number } | null;
    bitfield: { get(i: number): boolean };
    /** The piece store (immediate-chunk-store over the files): set once the metadata is known. */
    store: { put(i: number, b: Buffer, cb?: (err?: Error | null) => void): void } | null;
    /** peer-wire-swarm: emits ('wire', wire, socket) once a connection's handshake is done. */
    swarm: EventEmitter & { wires: Wire[]; downloaded: number; uploaded: number; downloadSpeed(): number };
    port?: number;
    listen(port: number, cb?: () => void): void;
    connect(addr: string): void;
    disconnect(addr: string): void;
    block(addr: string): void;
    destroy(cb?: () => void): void;
    select(from: number, to: number, priority?: number): void;
    deselect(from: number, to: number, priority?: number): void;
  }
  interface Options {
    path?: string;
    tmp?: string;
    dht?: boolean;
    tracker?: boolean;
    trackers?: string[];
    verify?: boolean;
    connections?: number;
    uploads?: number;
    id?: string;
  }
  function torrentStream(torrent: Buffer | string, opts?: Options): Engine;
  export = torrentStream;
}

// torrent-stream's wire (through peer-wire-swarm), https://github.com/mafintosh/peer-wire-protocol (MIT).
declare module 'peer-wire-protocol' {
  import type { Duplex } from 'node:stream';
  interface Wire extends Duplex {
    _onhandshake(infoHash: Buffer, peerId: Buffer, extensions: unknown): void;
  }
  const Wire: { prototype: Wire };
  export = Wire;
}
