/**
 * Type tests, checked by `tsc` in `npm test`: every code of the error table has its own
 * class and its `isX` guard exported from the page entry.
 */
import type * as cairn from '../../src/client/index.ts';
import type { ErrorCode } from '../../src/core/errors.ts';

type Pascal<S extends string> = S extends `${infer A}_${infer B}`
  ? `${Capitalize<Lowercase<A>>}${Pascal<B>}`
  : Capitalize<Lowercase<S>>;
type Entry = typeof cairn;

type MissingGuards = Exclude<`is${Pascal<ErrorCode>}`, keyof Entry>;
type ExportedClassCodes = {
  [K in keyof Entry]: K extends 'CairnError' ? never : Entry[K] extends abstract new (...args: never[]) => { code: infer C } ? C : never;
}[keyof Entry];
type MissingClasses = Exclude<ErrorCode, ExportedClassCodes>;

export const everyGuardIsExported: [MissingGuards] extends [never] ? true : MissingGuards = true;
export const everyClassIsExported: [MissingClasses] extends [never] ? true : MissingClasses = true;
