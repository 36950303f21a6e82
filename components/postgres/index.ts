export * from "./topology";
export * from "./postgresqlConf";
export * from "./pgbouncerIni";
export * from "./bootstrapSql";
export * from "./scram";
export * from "./nodeFiles";
export * from "./rolePlans";
export * from "./pgbackrestConf";
