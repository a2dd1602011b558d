"""Object storage: `s3://` URIs (`uris`), the on-disk object store (`objects.ObjectStore`, with
multipart uploads as `store.uploads`), its errors (`errors`) and tar packing of model dirs (`tar`)."""
