// Types of recover-core.js (plain JS so that worker threads load it without a TypeScript loader).
export type Recover = (compact: Uint8Array, recoveryId: number, digest: Uint8Array, compressed: boolean) => Uint8Array;
export declare const nobleRecover: Recover;
export declare function loadNativeRecover(): Recover | null;
export declare function signedBy(recover: Recover, compact: Uint8Array, recoveryId: number, digest: Uint8Array, compressed: boolean, expectedHash160: Uint8Array): boolean;
