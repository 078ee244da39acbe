// Operators (console logins and their roles) as the auth domain needs them; store/sqlite.ts implements it.
export type Role = 'viewer' | 'operator' | 'admin' | 'buyer';
export interface OperatorRow {
  name: string;
  secretHash: string;
  role: Role;
  createdAt: number;
  /** The on-chain account (required for a buyer: its deposits come from it, refunds go to it). */
  address?: string | null;
}

export interface OperatorStore {
  putOperator(row: OperatorRow): void;
  getOperator(name: string): OperatorRow | undefined;
  listOperators(): OperatorRow[];
  removeOperator(name: string): boolean;
}
