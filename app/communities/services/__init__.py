"""The rules of communities: who sees and manages one, invitations, and meetings with their registers."""
