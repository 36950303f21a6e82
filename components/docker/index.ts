export * from "./dockerCluster";
export * from "./network";
export * from "./nodeContainer";
export * from "./nodeImage";
export * from "./pgbouncer";
export * from "./postgresNode";
export * from "./replicationSlots";
