from sdf_corpus.cli import main

main()
