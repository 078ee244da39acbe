// Build-time stand-in for zod's locale index: the agent speaks English only, and without this stub the
// bundle carries every locale (~250 KiB) because zod re-exports them as a namespace.
export { default as en } from 'zod/v4/locales/en.js';
