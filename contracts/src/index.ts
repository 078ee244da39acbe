export * from './params.js';
export * from './typed.js';
export * from './chain.js';
export * from './errors.js';
export * from './deploy.js';
export * from './dao.js';
export * from './devchain.js';
export * as generated from './generated/artifacts.js';
export { artifacts } from './generated/artifacts.js';
