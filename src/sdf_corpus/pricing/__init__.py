"""What a build costs: the price table (`prices`) and the up-front estimate of a plan
(`estimate`), which renders each stage's requests as generation would send them."""
