// Data in and out of jobs, peer to peer (docs/architecture.md "Job data"): torrents of inputs and outputs.
export * from './bencode.js';
export * from './torrent.js';
export * from './transfer.js';
