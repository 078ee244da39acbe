// Compile-time types for ethers contracts built from the generated `as const` ABIs: method names,
// argument types and return types come from the ABI, so a typo or a wrong argument fails `tsc`.
import {
  Contract,
  type AddressLike,
  type Addressable,
  type BaseContract,
  type BigNumberish,
  type BytesLike,
  type ContractRunner,
  type ContractTransaction,
  type ContractTransactionResponse,
  type FunctionFragment,
  type InterfaceAbi,
  type Overrides,
} from 'ethers';

export interface AbiParam {
  readonly type: string;
  readonly name?: string;
  readonly components?: readonly AbiParam[];
}

export interface AbiFunction {
  readonly type: 'function';
  readonly name: string;
  readonly inputs: readonly AbiParam[];
  readonly outputs: readonly AbiParam[];
  readonly stateMutability: 'pure' | 'view' | 'nonpayable' | 'payable';
}

export type Abi = readonly { readonly type: string }[];

type Components<P> = P extends { readonly components: infer C extends readonly AbiParam[] } ? C : readonly [];

type NamedInputs<C extends readonly AbiParam[]> = {
  [K in C[number] as K['name'] extends string ? K['name'] : never]: InputOf<K['type'], Components<K>>;
};
type NamedOutputs<C extends readonly AbiParam[]> = {
  [K in C[number] as K['name'] extends '' | undefined ? never : K['name'] & string]: OutputOf<K['type'], Components<K>>;
};

/** The TS type ethers accepts for an ABI type. */
export type InputOf<T extends string, C extends readonly AbiParam[] = readonly []> =
  T extends `${infer Inner}[${string}]`
    ? readonly InputOf<Inner, C>[]
    : T extends 'tuple'
      ? NamedInputs<C>
      : T extends `uint${string}` | `int${string}`
        ? BigNumberish
        : T extends 'address'
          ? AddressLike
          : T extends 'bool'
            ? boolean
            : T extends 'string'
              ? string
              : T extends `bytes${string}`
                ? BytesLike
                : unknown;

/** The TS type ethers returns for an ABI type. */
export type OutputOf<T extends string, C extends readonly AbiParam[] = readonly []> =
  T extends `${infer Inner}[${string}]`
    ? readonly OutputOf<Inner, C>[]
    : T extends 'tuple'
      ? NamedOutputs<C> & readonly unknown[]
      : T extends `uint${string}` | `int${string}`
        ? bigint
        : T extends 'address' | 'string' | `bytes${string}`
          ? string
          : T extends 'bool'
            ? boolean
            : unknown;

type Inputs<P extends readonly AbiParam[]> = { -readonly [I in keyof P]: InputOf<P[I]['type'], Components<P[I]>> };
type OutputTuple<P extends readonly AbiParam[]> = {
  -readonly [I in keyof P]: OutputOf<P[I]['type'], Components<P[I]>>;
};
type Outputs<P extends readonly AbiParam[]> = P extends readonly []
  ? void
  : P extends readonly [infer Only extends AbiParam]
    ? OutputOf<Only['type'], Components<Only>>
    : OutputTuple<P> & NamedOutputs<P>;

type Args<F extends AbiFunction> = [...Inputs<F['inputs']>] | [...Inputs<F['inputs']>, Overrides];

/** One contract method: calling it sends a transaction (writes) or returns the decoded result (views). */
export interface TypedMethod<F extends AbiFunction> {
  (...args: Args<F>): Promise<F['stateMutability'] extends 'view' | 'pure' ? Outputs<F['outputs']> : ContractTransactionResponse>;
  staticCall(...args: Args<F>): Promise<Outputs<F['outputs']>>;
  estimateGas(...args: Args<F>): Promise<bigint>;
  populateTransaction(...args: Args<F>): Promise<ContractTransaction>;
  send(...args: Args<F>): Promise<ContractTransactionResponse>;
  readonly name: string;
  readonly fragment: FunctionFragment;
}

type Functions<A extends Abi> = Extract<A[number], AbiFunction>;

export type TypedContract<A extends Abi> = Omit<BaseContract, 'connect' | 'attach'> & {
  connect(runner: ContractRunner | null): TypedContract<A>;
  attach(target: string | Addressable): TypedContract<A>;
} & { readonly [F in Functions<A> as F['name']]: TypedMethod<F> };

/** An ethers Contract at `address` typed by its ABI. */
export function typedContract<A extends Abi>(address: string, abi: A, runner: ContractRunner | null): TypedContract<A> {
  return new Contract(address, abi as unknown as InterfaceAbi, runner) as unknown as TypedContract<A>;
}
