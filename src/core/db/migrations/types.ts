export interface Migration {
  /** Strictly increasing. Numbers are reserved by area: 1–9 foundation, 10–19 ingest, 20–29 models, 30–39 server, 40–49 backup, 50–59 simulation. */
  version: number;
  name: string;
  sql: string;
}
