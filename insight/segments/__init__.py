"""Target-aware segments in the multi-task latent space: projection and clustering, profiles and names,
contrasts of a group with the rest, and the latent neighbourhood of one customer."""
