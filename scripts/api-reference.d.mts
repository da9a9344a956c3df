// Types of what packages/cli/test/docs-reference.test.ts reads from the generator.
/** Each published entry point and the source file that defines it. */
export declare const ENTRY_POINTS: readonly { name: string; file: string; what: string }[];
/** The exports of each entry point as TypeScript sees them: name, kind and the doc comment's first sentence. */
export declare function entryExports(): readonly { name: string; file: string; what: string; exports: { name: string; kind: "class" | "function" | "const" | "type"; doc: string; deprecated: boolean }[] }[];
