// Tests define laws of their own: their SQL is read with the parser, as the CLI reads it.
import "@noema/core/sql";
