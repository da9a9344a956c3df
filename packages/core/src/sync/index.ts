export * from "./protocol.js";
export { type CapturedSediment, ChangeCapture, SYNC_DDL, SYNC_RETAINED } from "./capture.js";
export { definePublication, type Publication, PublicationDefinitionError, type PublicationSpec, type PublishedTable, type TablePublication } from "./publication.js";
