// Types of what packages/cli/test/docs-reference.test.ts reads from the generator.
/** Each published entry point and the source file that defines it. */
export declare const ENTRY_POINTS: readonly { name: string; file: string; what: string }[];
