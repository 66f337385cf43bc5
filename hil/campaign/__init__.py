"""Test campaigns: campaign files, the runner and its reports (``hil.campaign.report``)."""
