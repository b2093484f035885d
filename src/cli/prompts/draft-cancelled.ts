/**
 * The officer stopped guided drafting (Ctrl-C at a prompt or in the editor). Nothing was
 * written: the draft is created in one store call, only after the final confirm.
 */
export class DraftCancelled extends Error {
  readonly exitCode = 130
  constructor() {
    super('cancelled — no draft was created')
    this.name = 'DraftCancelled'
  }
}
