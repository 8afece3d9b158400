"""Documents into the three stores: discover, chunk, embed, extract, write (services); reconcile; delete."""
