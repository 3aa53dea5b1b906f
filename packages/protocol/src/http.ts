/**
 * The HTTP bodies that are not records or events (docs/protocol.md "Budgets and their records",
 * "Membership", "Users"): what each route takes and answers. The server's response schemas (and so
 * the OpenAPI document) are checked against these types when it compiles.
 */
import type { Budget, Category, Expense, Participant } from './records.js';

/** `GET /budgets`: keyset pages by budget id; pass `nextKey` as `key` for the next (`null`: the end). */
export interface BudgetPage {
  budgets: Budget[];
  nextKey: string | null;
}

/** `GET /budgets/:budgetId`. */
export interface BudgetResponse {
  budget: Budget;
  lastSequence: number;
}

/** `GET /budgets/:budgetId/last-event-sequence`. */
export interface LastSequenceResponse {
  budgetId: string;
  lastSequence: number;
}

/** `GET /budgets/:budgetId/participants`. */
export interface ParticipantList {
  participants: Participant[];
}

/** `GET /budgets/:budgetId/participants/:userId`. */
export interface ParticipantResponse {
  participant: Participant;
}

/** `GET /budgets/:budgetId/categories`: the live categories. */
export interface CategoryList {
  categories: Category[];
}

/** `GET /budgets/:budgetId/categories/:categoryId`. */
export interface CategoryResponse {
  category: Category;
}

/** `GET /budgets/:budgetId/expenses`: keyset pages by expense id, like `BudgetPage`. */
export interface ExpensePage {
  expenses: Expense[];
  nextKey: string | null;
}

/** `GET /budgets/:budgetId/expenses/:expenseId`. */
export interface ExpenseResponse {
  expense: Expense;
}

/** Money sums of a summary: exact decimal strings; `remaining` may be negative (`"-12.50"`). */
export interface SummaryTotals {
  allocate: string;
  spent: string;
  remaining: string;
  count: number;
}

/** One live category of a summary. */
export interface SummaryCategory extends SummaryTotals {
  categoryId: string;
  name: string;
}

/** `GET /budgets/:budgetId/summary?from&to`: `from`/`to` are the inclusive dates asked for (or null). */
export interface Summary {
  budgetId: string;
  from: string | null;
  to: string | null;
  categories: SummaryCategory[];
  totals: SummaryTotals;
}

/** `POST /budgets/:budgetId/invites`. */
export interface CreateInviteRequest {
  /** Default: the server's invite lifetime (7 days). */
  expiresInSeconds?: number;
  /** Default: reusable until it expires. */
  maxUses?: number;
}

/** The answer of `POST /budgets/:budgetId/invites` (201): the token is shown here only, once. */
export interface InviteCreated {
  token: string;
  /** Epoch ms. */
  expiresAt: number;
}

/** One live invite as `GET /budgets/:budgetId/invites` lists it: never the token. */
export interface InviteSummary {
  id: string;
  createdBy: string;
  createdAt: number;
  expiresAt: number;
  /** `null`: reusable until it expires. */
  maxUses: number | null;
  uses: number;
}

/** `GET /budgets/:budgetId/invites`, oldest first. */
export interface InviteList {
  invites: InviteSummary[];
}

/** `GET /budgets/:budgetId/join?token=` and `POST /invites/:token/accept`. */
export interface JoinResponse {
  budget: Budget;
  participant: Participant;
}

/** `DELETE /budgets/:budgetId/leave` and `DELETE /budgets/:budgetId/participants/:userId`. */
export interface ParticipantRemoved {
  budgetId: string;
  userId: string;
}

/** `PUT /budgets/:budgetId/owner`. */
export interface TransferOwnershipRequest {
  userId: string;
}

/** The answer of `PUT /budgets/:budgetId/owner`: the budget with its new `ownerId`. */
export interface OwnerResponse {
  budget: Budget;
}

/** `PUT /user`: `null` clears a field. */
export interface UpdateUserRequest {
  firstName?: string | null;
  lastName?: string | null;
  email?: string | null;
}

/** `GET /user/photo-upload-url?type&size`: PUT the file to `url` with exactly `headers`. */
export interface PhotoUploadTicket {
  url: string;
  key: string;
  expiresInSeconds: number;
  headers: Record<string, string>;
}

/** `POST /user/confirm-photo-upload` (and `PUT /user/photo-upload-confirm`). */
export interface ConfirmPhotoRequest {
  key: string;
}

/** The answer of a photo confirmation: the CDN URL of the new photo. */
export interface PhotoResponse {
  photo: string;
}

/** `GET /healthz` and `GET /readyz`. */
export interface HealthStatus {
  status: 'ok' | 'ready';
}
