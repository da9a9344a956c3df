export declare const DEFAULT_PORT: number;
export declare function portOf(args: readonly string[]): number;
export interface ExampleRequest {
  method: string;
  path: string;
  body?: unknown;
}
export declare const EXAMPLE_REQUESTS: readonly ExampleRequest[];
export declare function exampleCommands(port: number, token: string): string[];
