export interface Postgres {
  readonly url: string
  readonly database: (name: string) => string
  readonly query: (statement: string, database?: string) => Promise<{ readonly rows: ReadonlyArray<Record<string, unknown>> }>
  readonly restart: () => Promise<void>
  readonly pid: () => number | undefined
  readonly stop: () => Promise<void>
}

export declare const startPostgres: (
  options?: { readonly durable?: boolean; readonly maxConnections?: number; readonly dir?: string }
) => Promise<Postgres>
