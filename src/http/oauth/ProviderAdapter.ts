import type * as Effect from "effect/Effect"
import type { Adapter, AdapterConstructor, AdapterPayload } from "oidc-provider"
import type { StorageError } from "../../domain/Errors.js"
import type { OAuthStore } from "../../storage/OAuthStore.js"

/** Runs a store operation for the authorization server, which speaks promises. */
export type RunStore = <A>(effect: Effect.Effect<A, StorageError>) => Promise<A>

/**
 * oidc-provider's storage adapter over our database (OAuthStore): one instance per model (Client, Grant,
 * AuthorizationCode, RefreshToken, Session, Interaction…), all in the oauth_records table.
 */
export const providerAdapter = (store: OAuthStore, run: RunStore): AdapterConstructor =>
  class implements Adapter {
    constructor(readonly model: string) {}
    upsert(id: string, payload: AdapterPayload, expiresIn: number) {
      return run(store.upsert(this.model, id, payload as Record<string, unknown>, expiresIn > 0 ? expiresIn : undefined))
    }
    find(id: string) {
      return run(store.find(this.model, id)) as Promise<AdapterPayload | undefined>
    }
    // The device flow, the only user of user codes, is off.
    findByUserCode() {
      return Promise.resolve(undefined)
    }
    findByUid(uid: string) {
      return run(store.findByUid(this.model, uid)) as Promise<AdapterPayload | undefined>
    }
    consume(id: string) {
      return run(store.consume(this.model, id))
    }
    destroy(id: string) {
      return run(store.destroy(this.model, id))
    }
    revokeByGrantId(grantId: string) {
      return run(store.revokeByGrantId(grantId))
    }
  }
