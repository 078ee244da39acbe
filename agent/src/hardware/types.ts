// Shared shapes for the detectors. Every detector returns its data plus warnings and never throws.
import type { HardwareWarning } from '@sosna/protocol/hardware';

export type Warning = HardwareWarning;

export function warn(source: string, message: string): Warning {
  return { source: source.slice(0, 128), message: message.length > 1024 ? `${message.slice(0, 1023)}…` : message };
}

/**
 * The declared properties of a type without its index signature. Inventory types come from
 * z.looseObject, whose `[k: string]: unknown` would make Omit<> drop every named property.
 */
export type KnownKeys<T> = {
  [K in keyof T as string extends K ? never : number extends K ? never : symbol extends K ? never : K]: T[K];
};
