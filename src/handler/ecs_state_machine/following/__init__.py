"""FollowRevisions: the follow records and their leases, what a deploy records, and the follower that moves state machines to new revisions between deploys."""
