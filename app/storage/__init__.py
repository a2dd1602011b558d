"""Object storage: `s3://` URIs (`uris`), the on-disk object store (`objects`) and tar packing (`tar`)."""
