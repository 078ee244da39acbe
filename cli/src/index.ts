export { deviceRows, deviceFilter, parseSize } from './commands/console.js';
