import RootlessNetns

RootlessNetnsMain.main()
