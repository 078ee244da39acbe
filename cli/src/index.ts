export { deviceRows } from './commands/console.js';
