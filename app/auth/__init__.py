"""Who is calling: identities (accounts, access keys), SigV4 verification, and the `Caller` they yield."""
