"""The returnee's own future plan: goals, steps, comments and its history."""
