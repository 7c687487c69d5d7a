package chat

// InboxSQL exposes the inbox query to the tests of its plan.
func InboxSQL(tenantID string, f InboxFilter) (string, []any) {
	q, args := inboxQuery(tenantID, f)
	return `SELECT ` + convColumns + ` FROM conversations ` + q, args
}

// InactiveSQL is the inactivity sweeper's query.
const InactiveSQL = inactiveQuery
