from pixelopolis.cli import main

raise SystemExit(main())
