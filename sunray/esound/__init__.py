"""esound without ALSA: rebuild the RPM OSS-only and prove the result has no libasound."""
