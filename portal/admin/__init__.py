"""The administrator's desk: users, invitations, TAM assignment and the audit log."""
