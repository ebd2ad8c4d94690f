"""The DynamoDB adapter: the only package that talks to the table."""
